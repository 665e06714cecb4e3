/* pop3d_worker: the helper threads that do what would block the ring:
 * password checks (yescrypt: tens of milliseconds by design) followed by
 * opening the mailbox (flock, new/ -> cur/, readdir), and the UPDATE
 * state's unlinks and fsync.  Jobs go in through a mutex-protected queue;
 * finished jobs come back on a list and an eventfd read on the ring wakes
 * the loop, which runs each job's done callback on its own thread.  The
 * accounts snapshot lives here and is refreshed (users_refresh) by the
 * threads under a write lock at most once a second. */
#ifndef POP3D_WORKER_H
#define POP3D_WORKER_H
#include <pthread.h>
#include <stdint.h>

#include "lib/ev.h"
#include "pop3d/pop3d_mbox.h"

#define POP3D_WORKER_THREADS 2
#define POP3D_USER_MAX 255
#define POP3D_PASS_MAX 512

enum pop3d_job_kind { POP3D_JOB_LOGIN, POP3D_JOB_UPDATE };

struct pop3d_job;
typedef void (*pop3d_job_fn)(struct pop3d_job *j);

struct pop3d_job {
	enum pop3d_job_kind kind;
	char user[POP3D_USER_MAX + 1];
	char pass[POP3D_PASS_MAX + 1];	/* wiped once checked */
	struct pop3d_mbox *mb;		/* LOGIN: filled; UPDATE: applied */
	int ok;				/* LOGIN: the password matched */
	int rc;				/* mailbox result, 0 or -errno */
	pop3d_job_fn done;		/* on the loop's thread */
	struct pop3d_job *next;
};

struct pop3d_workers {
	pthread_t th[POP3D_WORKER_THREADS];
	size_t nth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pop3d_job *head, *tail, *done;
	int stopping;
	int efd;
	struct ev_loop *loop;
	struct ev_op efd_op;
	uint64_t efd_val;
	int efd_busy;
	const char *users_path, *mail_root;
	pthread_rwlock_t users_lock;
	struct users *users;
	uint64_t users_checked;		/* s, monotonic */
	int users_failed;		/* the last load failed (logged) */
};

/* Load the accounts, start the threads and the eventfd read.  0 or
 * -errno. */
int pop3d_workers_start(struct pop3d_workers *w, struct ev_loop *loop,
    const char *users_path, const char *mail_root);
/* Queue a job; j->done runs on the loop when it is finished. */
void pop3d_workers_submit(struct pop3d_workers *w, struct pop3d_job *j);
/* Stop and join the threads (queued jobs are finished first). */
void pop3d_workers_stop(struct pop3d_workers *w);
#endif
