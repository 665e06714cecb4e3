/* workq: helper threads for work that would block an event loop (password
 * checks: yescrypt costs tens of milliseconds by design; mailbox opens and
 * fsyncs).  Jobs go in through a mutex-protected queue; finished jobs come
 * back on a list and an eventfd read on the ring wakes the loop, which runs
 * each job's done callback on its own thread, oldest first.  Used by pop3d
 * (pop3d_worker) and smtpd (smtpd_authck). */
#ifndef LIB_WORKQ_H
#define LIB_WORKQ_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ev.h"

#define WORKQ_THREADS_MAX 8

struct workq_job;
typedef void (*workq_fn)(struct workq_job *j);

/* Embedded in its owner (container_of); the owner lives until done ran. */
struct workq_job {
	workq_fn run;			/* on a helper thread */
	workq_fn done;			/* on the loop's thread */
	struct workq_job *next;
};

struct workq {
	pthread_t th[WORKQ_THREADS_MAX];
	size_t nth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct workq_job *head, *tail, *done;
	int stopping;
	int efd;
	struct ev_loop *loop;
	struct ev_op efd_op;
	uint64_t efd_val;
	int efd_busy;
};

/* Start nthreads (at most WORKQ_THREADS_MAX) threads and the eventfd read
 * on loop.  0 or -errno. */
int workq_start(struct workq *q, struct ev_loop *loop, size_t nthreads);
/* Queue j: j->run on a thread, then j->done on the loop. */
void workq_submit(struct workq *q, struct workq_job *j);
/* Stop and join the threads (queued jobs are run first; their done
 * callbacks are not called any more). */
void workq_stop(struct workq *q);
#endif
