/* mtactl: the operator's tool.  mtactl_main.c parses argv and dispatches
 * through one command table; mtactl_ctl.c controls the master (start, stop,
 * status, reload, check) and mtactl_queue.c reads the queue (queue, cat).
 * Exit codes: 0 ok, 1 failure, 2 config error, 64 usage, 69 not available. */
#ifndef MASTER_MTACTL_H
#define MASTER_MTACTL_H
#include "lib/conf.h"

#define MTACTL_EX_USAGE 64
#define MTACTL_EX_UNAVAILABLE 69
#define MTACTL_STOP_WAIT_SEC 60
#define MTACTL_START_WAIT_SEC 10

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

/* One line of run/status checked: "name pid state" with a known state.
 * 1 if well-formed. */
int mtactl_status_line_ok(const char *line);
#endif
