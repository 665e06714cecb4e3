/* workq: the helper threads; see workq.h.  A thread never touches the
 * job's owner beyond what j->run does: it puts the job on the done list
 * and writes the eventfd; the loop (on_wake) hands each job back. */
#include "lib/workq.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void *worker_main(void *arg)
{
	struct workq *q = arg;
	uint64_t one = 1;

	for (;;) {
		struct workq_job *j;

		pthread_mutex_lock(&q->mu);
		while (q->head == NULL && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		if ((j = q->head) == NULL) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		if ((q->head = j->next) == NULL)
			q->tail = NULL;
		pthread_mutex_unlock(&q->mu);
		j->run(j);
		pthread_mutex_lock(&q->mu);
		j->next = q->done;
		q->done = j;
		pthread_mutex_unlock(&q->mu);
		(void)!write(q->efd, &one, sizeof(one));
	}
}

static void arm_wake(struct workq *q);

/* The eventfd fired: hand every finished job back, oldest first. */
static void on_wake(struct ev_op *op, int res, unsigned flags)
{
	struct workq *q = container_of(op, struct workq, efd_op);
	struct workq_job *list, *rev = NULL;

	(void)flags;
	q->efd_busy = 0;
	if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED)
		fatalx("eventfd read: %s", strerror(-res));
	pthread_mutex_lock(&q->mu);
	list = q->done;
	q->done = NULL;
	pthread_mutex_unlock(&q->mu);
	while (list != NULL) {
		struct workq_job *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct workq_job *next = rev->next;

		rev->next = NULL;
		rev->done(rev);		/* may free the job's owner */
		rev = next;
	}
	if (res != -ECANCELED)
		arm_wake(q);
}

static void arm_wake(struct workq *q)
{
	if (q->efd_busy)
		return;
	q->efd_busy = 1;
	q->efd_op.fn = on_wake;
	ev_read(q->loop, &q->efd_op, q->efd, &q->efd_val,
	    sizeof(q->efd_val), -1);
}

int workq_start(struct workq *q, struct ev_loop *loop, size_t nthreads)
{
	int rc;

	memset(q, 0, sizeof(*q));
	q->loop = loop;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if ((q->efd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	if (nthreads > WORKQ_THREADS_MAX)
		nthreads = WORKQ_THREADS_MAX;
	for (q->nth = 0; q->nth < nthreads; q->nth++)
		if ((rc = pthread_create(&q->th[q->nth], NULL, worker_main,
		    q)) != 0)
			return -rc;
	arm_wake(q);
	return 0;
}

void workq_submit(struct workq *q, struct workq_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void workq_stop(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (size_t i = 0; i < q->nth; i++)
		pthread_join(q->th[i], NULL);
	q->nth = 0;
	if (q->efd >= 0)
		close(q->efd);	/* the loop has ended: its read is moot */
	q->efd = -1;
}
