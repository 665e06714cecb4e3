/* master: the supervisor's pieces, one concern per file (master_*.c), all
 * linked into build/master.a so unit tests and mtactl can use them.
 * The master alone stays root: it binds, creates the run directory and the
 * Unix sockets (writer, agents, qmgr control), then forks each daemon,
 * drops that child to its own user (master_privsep.c) and restarts it with
 * backoff when it dies. */
#ifndef MASTER_MASTER_H
#define MASTER_MASTER_H
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/connlimit.h"
#include "lib/tls_server.h"

#define MASTER_BACKOFF_MIN 1		/* s: first restart delay */
#define MASTER_BACKOFF_MAX 60		/* s: cap of the doubling */
#define MASTER_HEALTHY_SEC 60		/* s of running that resets backoff */
#define MASTER_DRAIN_SEC 30		/* s before SIGKILL on stop */
#define MASTER_RELOAD_DRAIN_SEC 300	/* s old workers may finish sessions */
#define MASTER_BACKLOG 4096
#define MASTER_BIND_RETRY_MS 3000	/* EADDRINUSE right after a crash */
#define MASTER_FDS_MAX (CONF_LIST_MAX + 8)	/* inherited fds per child */
#define MASTER_STATUS_FILE "status"	/* run/status: "name pid state" */
#define MASTER_LOG_FILE "mta.log"	/* log/mta.log when daemonized */
#define MASTER_PROG_SMTPD "mta-smtpd"
#define MASTER_PROG_QWRITER "mta-qwriter"
#define MASTER_PROG_QMGR "mta-qmgr"
#define MASTER_PROG_REMOTE "mta-remote"
#define MASTER_PROG_LOCAL "mta-local"
#define MASTER_PROG_POP3D "mta-pop3d"

/* ---- master_conf.c: configuration, paths, what a reload changes ---- */

/* Make path absolute against the current directory (lexically: "." and
 * ".." segments are folded, the target need not exist).  0 or -errno. */
int master_abs_path(const char *path, char *out, size_t outlen);
/* conf_load() with the INTERFACE.md lookup order, then make state_dir and
 * the config path absolute.  conf_path gets the file used ("" when the
 * embedded defaults were used).  0, or -1 with "file:line: message". */
int master_conf_load(struct conf *c, const char *arg, char *conf_path,
    size_t pathlen, char *err, size_t errlen);
/* 1 if two listener lists name the same addresses in the same order. */
int master_listen_same(const struct conf_listen *a, size_t na,
    const struct conf_listen *b, size_t nb);
/* 1 if the queue writer must be restarted to see the new settings. */
int master_qwriter_changed(const struct conf *old, const struct conf *new);
/* Join dir and name into out; -ENAMETOOLONG if it does not fit. */
int master_path(char *out, size_t outlen, const char *dir, const char *name);

/* ---- master_privsep.c: the daemons' users and the one drop path ---- */

struct master_user {
	char name[64];
	uid_t uid;
	gid_t gid;
};

struct master_users {
	int on;				/* started as root */
	struct master_user smtpd, queue, remote, local;
	gid_t auth;			/* group_auth: may read users_file */
};

/* Fill u from the conf user names when running as root (u->on = 1); when
 * not root, u->on = 0.  The four users must be distinct.  0, or -1 with a
 * message telling how to create a missing user. */
int master_users_lookup(const struct conf *c, struct master_users *u,
    char *err, size_t errlen);
/* Drop to u for good, in one order, and verify it.  Child side, after fork
 * and before exec.  0, or -1 with the failing step in err. */
int master_privsep_drop(const struct master_user *u, char *err, size_t errlen);
/* master_privsep_drop with these supplementary groups (n may be 0). */
int master_privsep_drop_groups(const struct master_user *u,
    const gid_t *groups, size_t n, char *err, size_t errlen);
/* Fork, drop to u and check that the daemon will be able to execute prog,
 * read conf_path (may be "") and, if sock is not NULL, connect to the
 * socket run/SOCK under state_dir, all reached as master_spawn hands them
 * over.  0, or -1 with an explanation in err. */
int master_privsep_check(const struct master_user *u, const char *prog,
    const char *conf_path, const char *state_dir, const char *sock,
    char *err, size_t errlen);

/* ---- master_statedir.c: the state directory tree ---- */

/* Create state_dir and its subdirectories with the documented owners and
 * modes; spool/ goes to queue and mail/ to local (NULL: the current
 * user).  0, or -1 with the failing path in err. */
int master_statedir_setup(const char *state_dir, const struct master_user *queue,
    const struct master_user *local, char *err, size_t errlen);

/* ---- master_pidfile.c: one master per state_dir ---- */

/* Lock run/master.pid and write our pid.  Returns the fd (keep it open),
 * -EEXIST with *other set when another master holds it, or -errno. */
int master_pidfile_lock(const char *state_dir, pid_t *other);
/* Rewrite the pid (after daemonizing). */
int master_pidfile_write(int fd, pid_t pid);
/* The pid of the running master, 0 when none runs, -errno on error. */
pid_t master_pidfile_running(const char *state_dir);
/* Remove the pid file and close fd. */
void master_pidfile_remove(const char *state_dir, int fd);

/* ---- master_listen.c: listening sockets, bound before any drop ---- */

struct master_listener {
	struct conf_listen where;
	int fd;
};

struct master_listeners {
	struct master_listener v[CONF_LIST_MAX];
	size_t n;
};

/* Bind and listen on every address (IPv6 V6ONLY, SO_REUSEADDR,
 * non-blocking, CLOEXEC), reusing an open socket of reuse (may be NULL)
 * for an address it already has.  0, or -1 with the address in err. */
int master_listeners_open(struct master_listeners *out,
    const struct conf_listen *want, size_t n,
    const struct master_listeners *reuse, char *err, size_t errlen);
/* Close the sockets of l not also present in keep (may be NULL). */
void master_listeners_close(struct master_listeners *l,
    const struct master_listeners *keep);
/* Create a listening Unix socket at path (stale one removed) with mode.
 * Returns the fd or -errno. */
int master_listen_unix(const char *path, unsigned mode);

/* ---- master_spawn.c: fork, lay out fds, drop, exec ---- */

struct master_spawn {
	const char *path;		/* absolute program path */
	const char *conf_path;		/* "" : no -c */
	const char *state_dir;		/* handed over as a descriptor (privsep) */
	const struct master_user *user;	/* NULL: stay as we are */
	const int *fds;			/* inherited, become 3, 4, ... */
	const char *const *roles;	/* MTA_FDS role of each fd */
	size_t nfds;
	const char *file_path;		/* privsep: also hand over this file */
	const char *file_role;		/* read-only, under this role */
	const gid_t *groups;		/* privsep: supplementary groups */
	size_t ngroups;
};

/* "MTA_FDS=role:3,role:4,..." into out (reset first).  0 or -EINVAL. */
int master_fds_env(const char *const *roles, size_t n, struct buf *out);
/* Child side: move src[i] to MTA_FD_BASE + i and close every other fd
 * above 2.  0 or -errno. */
int master_fds_layout(const int *src, size_t n);
/* A NULL-terminated copy of env without MTA_FDS and MTA_CONF, plus extra
 * (may be NULL).  Free with free() (one allocation). */
char **master_env_build(char *const *env, const char *extra);
/* Find a daemon: exe_dir/name, then exe_dir/../libexec/mta/name.
 * 0, or -ENOENT. */
int master_find_program(const char *exe_dir, const char *name, char *out,
    size_t outlen);
/* Directory of the running binary (/proc/self/exe).  0 or -errno. */
int master_exe_dir(char *out, size_t outlen);
/* Fork and exec s; the child is in its own process group and gets SIGTERM
 * when the master dies.  Returns the pid or -errno. */
pid_t master_spawn(const struct master_spawn *s);

/* ---- master_backoff.c: restart delays ---- */

/* The delay before restarting a daemon that ran for ran_ms after a
 * previous delay of prev s (0: none yet): 1 s doubling to 60 s, back to
 * 1 s after 60 s of healthy running. */
unsigned master_backoff_next(unsigned prev, long long ran_ms);

/* ---- master_status.c: run/status for mtactl ---- */

enum master_state {
	MASTER_RUNNING,		/* pid is alive */
	MASTER_RESTARTING,	/* died; waiting for its backoff */
	MASTER_STOPPING,	/* SIGTERM sent */
};

struct master_status_line {
	const char *name;
	pid_t pid;		/* 0: none */
	enum master_state state;
};

/* The word used in run/status and by mtactl for a state. */
const char *master_state_name(enum master_state s);
/* Format lines "name pid state\n" (pid "-" when none) into out. */
void master_status_format(const struct master_status_line *v, size_t n,
    struct buf *out);
/* Write run/status atomically (tmp + rename).  0 or -errno. */
int master_status_write(const char *state_dir,
    const struct master_status_line *v, size_t n);

/* Remove run/status (the master has stopped). */
void master_status_remove(const char *state_dir);

/* ---- master_daemon.c: detach from the terminal ---- */

/* Fork; the parent waits until the child calls master_daemon_release()
 * (then exits 0) or exits (then exits with its status).  The child gets a
 * new session and stdin on /dev/null.  Returns in the child only. */
void master_daemon_start(void);
/* Child: send stdout/stderr to log_path (append).  0 or -errno. */
int master_daemon_log(const char *log_path);
/* Child: the master is up; let the waiting parent exit 0. */
void master_daemon_release(void);

/* ---- master_kind.c: what each daemon is ---- */

/* In start order: the writer first (everyone else connects to it), the
 * queue manager, its delivery agents, then the SMTP servers. */
enum master_kind {
	MASTER_QWRITER,
	MASTER_QMGR,
	MASTER_REMOTE,
	MASTER_LOCAL,
	MASTER_SMTPD,
	MASTER_POP3D,		/* only when pop3_listen is not empty */
	MASTER_NKINDS
};

/* ---- master_svc.c: the TCP services ---- */

enum master_svc {
	MASTER_SVC_SMTP,
	MASTER_SVC_SUBMISSION,
	MASTER_SVC_SMTPS,
	MASTER_SVC_POP3,
	MASTER_SVC_POP3S,
	MASTER_NSVC
};

/* Its config key ("smtps_listen"), MTA_FDS role and daemon. */
const char *master_svc_key(enum master_svc s);
const char *master_svc_role(enum master_svc s);
enum master_kind master_svc_kind(enum master_svc s);
/* The addresses c lists for s (count in *n). */
const struct conf_listen *master_svc_want(const struct conf *c,
    enum master_svc s, size_t *n);
/* 1 if c lists an address for a service of kind (pop3d runs only then). */
int master_svc_wanted(const struct conf *c, enum master_kind kind);
/* Open every service's listeners into out[MASTER_NSVC], reusing the
 * sockets of reuse[MASTER_NSVC] (may be NULL).  0, or -1 with err and
 * nothing new left open. */
int master_svc_open(struct master_listeners *out, const struct conf *c,
    const struct master_listeners *reuse, char *err, size_t errlen);
/* Close the sockets of l[MASTER_NSVC] not in keep[MASTER_NSVC] (may be
 * NULL). */
void master_svc_close(struct master_listeners *l,
    const struct master_listeners *keep);

/* ---- master_tls.c: the servers' certificate ---- */

/* Read tls_cert_file and tls_key_file (first generating a self-signed
 * pair when both are the defaults in $state_dir/tls/ and neither exists),
 * check that they make a server context, and seal them with the ticket
 * keys into a new memfd for smtpd and pop3d (MTA_FDS role "tls").
 * Returns the fd, or -1 with the reason in err. */
int master_tls_prepare(const struct conf *c, const unsigned char *tickets,
    char *err, size_t errlen);
/* A self-signed certificate for host (ECDSA P-256, 10 years) written to
 * cert_path (0644) and key_path (0600), atomically.  0 or -1 with err. */
int master_tls_selfsign(const char *host, const char *cert_path,
    const char *key_path, char *err, size_t errlen);

struct master;

/* The program name of a kind ("mta-qmgr"), also its name in run/status. */
const char *master_kind_name(enum master_kind kind);
/* The user a kind runs as under privilege separation. */
const struct master_user *master_kind_user(const struct master_users *u,
    enum master_kind kind);
/* 1 if kind reads users_file, so runs with group_auth as its only
 * supplementary group (smtpd, mta-local, mta-pop3d; never remote or the
 * queue daemons). */
int master_kind_reads_users(enum master_kind kind);
/* The socket (file name in run/) a kind connects to, or NULL. */
const char *master_kind_connects(enum master_kind kind);
/* The listening sockets m hands to kind and their MTA_FDS roles (at most
 * MASTER_FDS_MAX); returns how many. */
size_t master_kind_fds(const struct master *m, enum master_kind kind,
    int *fds, const char **roles);
/* As root: check, as each daemon's user in u, that it can use what it
 * needs (master_privsep_check).  0, or -1 with the reason in err. */
int master_kinds_check(const struct master *m, const struct master_users *u,
    const char *conf_path, char *err, size_t errlen);

/* ---- master_child.c, master_loop.c, master_reload.c: the supervisor ---- */

struct master_child {
	enum master_kind kind;
	enum master_state state;
	pid_t pid;			/* 0 while waiting to restart */
	unsigned gen;			/* config generation it runs */
	unsigned backoff;		/* last restart delay, s */
	long long started_ms;		/* monotonic */
	long long due_ms;		/* restart at / SIGKILL at */
	int replace;			/* qwriter, qmgr: start anew on exit */
};

struct master {
	struct conf conf;
	const char *conf_arg;		/* -c as given, or NULL */
	char conf_path[4096];		/* absolute, "" : embedded defaults */
	char prog[MASTER_NKINDS][4096];	/* absolute program paths */
	char qwriter_sock[4096], agent_sock[4096], qmgr_sock[4096];
	struct master_users users;
	struct master_listeners ls[MASTER_NSVC];	/* by enum master_svc */
	int tls_fd;			/* sealed memfd: master_tls_prepare */
	int connlimit_fd;		/* smtpd's shared connection counts */
	struct connlimit connlimit;	/* mapped: freed slices of the dead */
	unsigned char tls_tickets[TLS_TICKET_KEYS_LEN];	/* one set per start */
	int qwriter_fd, agent_fd, qmgrctl_fd, pid_fd, sig_fd;
	unsigned gen;
	int stopping;			/* enum master_stop */
	long long stop_deadline_ms;
	struct master_child *kids;
	size_t nkids, capkids;
};

/* The drain on SIGTERM, one stage after the other: nothing new comes in
 * and the agents report what they were doing, then the queue manager
 * records it (and queues its bounces), then the writer commits. */
enum master_stop {
	MASTER_STOP_NONE,
	MASTER_STOP_FRONT,		/* smtpd and remote agents */
	MASTER_STOP_QMGR,
	MASTER_STOP_QWRITER,
};

/* Milliseconds on the monotonic clock. */
long long master_now_ms(void);
/* Start one daemon of kind for the current generation. */
void master_child_start(struct master *m, struct master_child *k);
/* Add a slot of kind and start it. */
struct master_child *master_child_add(struct master *m, enum master_kind kind);
/* Account for an exited pid: schedule a restart, or forget the slot. */
void master_child_exited(struct master *m, pid_t pid, int status);
/* Start the daemons whose backoff has expired, SIGKILL overdue ones. */
void master_child_timers(struct master *m);
/* Milliseconds until the next timer (-1: none). */
int master_child_next_timer(const struct master *m);
/* SIGTERM every child of kind (older than gen when gen != 0). */
void master_child_stop(struct master *m, enum master_kind kind, unsigned gen,
    unsigned grace_s);
/* Number of live or pending children of kind. */
size_t master_child_count(const struct master *m, enum master_kind kind);
/* Rewrite run/status from the table. */
void master_child_status(const struct master *m);

/* Block the signals the loop reads and open the signalfd.  0 or -errno. */
int master_signals_init(struct master *m);
/* Run until stopped; returns the exit status. */
int master_loop(struct master *m);
/* SIGHUP: re-read the config and replace what changed. */
void master_reload(struct master *m);
#endif
