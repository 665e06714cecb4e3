/* mtactl: the operator's tool.  mtactl_main.c parses argv and dispatches
 * through one command table; mtactl_ctl.c controls the master (start, stop,
 * status, reload, check), mtactl_queue.c reads the queue (queue, cat) and
 * mtactl_qmgr.c asks the queue manager (flush, delete, hold, release,
 * stats, and the last errors shown by queue); mtactl_user.c keeps
 * users_file (user add, passwd, del, list).
 * Exit codes: 0 ok, 1 failure (or not found), 2 config error, 64 usage,
 * 69 not available (the MTA or its queue manager is not running). */
#ifndef MASTER_MTACTL_H
#define MASTER_MTACTL_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/ipc.h"

#define MTACTL_EX_USAGE 64
#define MTACTL_EX_UNAVAILABLE 69
#define MTACTL_STOP_WAIT_SEC 60
#define MTACTL_START_WAIT_SEC 10
#define MTACTL_QMGR_TIMEOUT_SEC 30	/* an operator command's answer */
#define MTACTL_LASTERROR_TIMEOUT_SEC 5	/* queue: else '-' */

struct mtactl {
	const char *conf_arg;		/* -c FILE, or NULL */
	struct conf conf;		/* state_dir made absolute */
	char conf_path[4096];		/* file used, "" : defaults */
	int loaded;
};

typedef int (*mtactl_fn)(struct mtactl *ctl, int argc, char **argv);

/* Load the config once (lookup order of INTERFACE.md); on error print
 * "file:line: message" and exit 2. */
void mtactl_conf(struct mtactl *ctl);

int mtactl_start(struct mtactl *ctl, int argc, char **argv);
int mtactl_stop(struct mtactl *ctl, int argc, char **argv);
int mtactl_status(struct mtactl *ctl, int argc, char **argv);
int mtactl_reload(struct mtactl *ctl, int argc, char **argv);
int mtactl_check(struct mtactl *ctl, int argc, char **argv);
int mtactl_queue(struct mtactl *ctl, int argc, char **argv);
int mtactl_cat(struct mtactl *ctl, int argc, char **argv);
int mtactl_flush(struct mtactl *ctl, int argc, char **argv);
int mtactl_delete(struct mtactl *ctl, int argc, char **argv);
int mtactl_hold(struct mtactl *ctl, int argc, char **argv);
int mtactl_release(struct mtactl *ctl, int argc, char **argv);
int mtactl_stats(struct mtactl *ctl, int argc, char **argv);
/* user add|passwd|del|list (mtactl_user.c). */
int mtactl_user(struct mtactl *ctl, int argc, char **argv);
/* One password line from fd (read a byte at a time, nothing past the
 * newline): CR/LF stripped; empty, a NUL or more than USERS_PASSWORD_MAX
 * bytes is -EINVAL with the reason in *why. */
int mtactl_password_line(int fd, char *out, size_t outlen, const char **why);

/* One request to the queue manager over run/qmgr.sock (the config must be
 * loaded): 0 with its TEXT (NUL-terminated) and STATUS; -ESRCH when no
 * queue manager runs, -ETIMEDOUT, -EACCES, -EPROTO; err says why. */
int mtactl_qmgr_ask(struct mtactl *ctl, const char *cmd, const char *arg,
    int timeout_s, struct buf *text, int *status, char *err, size_t errlen);
/* Validate an IPC_CTL_REPLY for request id: STATUS (canonical decimal,
 * 0..255, required, once) and TEXT (optional).  0 or -EPROTO. */
int mtactl_ctl_reply(const struct ipc_msg *m, uint64_t id, struct buf *text,
    int *status);

/* The queue manager's `lasterror` answer, lines "QID text", indexed. */
struct mtactl_lasterr {
	uint64_t qid;
	const char *text;	/* NUL-terminated, inside the parsed buffer */
};

struct mtactl_lasterrs {
	struct mtactl_lasterr *v;
	size_t n;
};

/* Split text (modified in place: NULs at line ends; text[len] must be a
 * NUL) into e, sorted by ID; malformed lines are skipped. */
void mtactl_lasterr_parse(char *text, size_t len, struct mtactl_lasterrs *e);
/* The last error of qid, or NULL. */
const char *mtactl_lasterr_find(const struct mtactl_lasterrs *e, uint64_t qid);

/* One line of run/status checked: "name pid state" with a known state.
 * 1 if well-formed. */
int mtactl_status_line_ok(const char *line);
#endif
