/* pop3d_worker: what pop3d does off the ring, on lib/workq's helper
 * threads: password checks (lib/authdb: yescrypt costs tens of
 * milliseconds by design) followed by opening the mailbox (flock, new/ ->
 * cur/, readdir), and the UPDATE state's unlinks and fsync.  Each job's
 * done callback runs on the loop's thread. */
#ifndef POP3D_WORKER_H
#define POP3D_WORKER_H
#include <stdint.h>

#include "lib/authdb.h"
#include "lib/ev.h"
#include "lib/workq.h"
#include "pop3d/pop3d_mbox.h"

#define POP3D_WORKER_THREADS 2
#define POP3D_USER_MAX 255
#define POP3D_PASS_MAX 512

enum pop3d_job_kind { POP3D_JOB_LOGIN, POP3D_JOB_UPDATE };

struct pop3d_job;
typedef void (*pop3d_job_fn)(struct pop3d_job *j);

struct pop3d_job {
	struct workq_job wj;
	enum pop3d_job_kind kind;
	char user[POP3D_USER_MAX + 1];
	char pass[POP3D_PASS_MAX + 1];	/* wiped once checked */
	struct pop3d_mbox *mb;		/* LOGIN: filled; UPDATE: applied */
	int ok;				/* LOGIN: the password matched */
	int rc;				/* mailbox result, 0 or -errno */
	pop3d_job_fn done;		/* on the loop's thread */
	struct pop3d_workers *w;
};

struct pop3d_workers {
	struct workq q;
	struct authdb db;
	const char *mail_root;
};

/* Load the accounts (verified logins remembered auth_cache_ttl s),
 * start the threads and the eventfd read.  0 or -errno. */
int pop3d_workers_start(struct pop3d_workers *w, struct ev_loop *loop,
    const char *users_path, unsigned auth_cache_ttl, const char *mail_root);
/* Queue a job; j->done runs on the loop when it is finished. */
void pop3d_workers_submit(struct pop3d_workers *w, struct pop3d_job *j);
/* Stop and join the threads (queued jobs are finished first). */
void pop3d_workers_stop(struct pop3d_workers *w);
#endif
