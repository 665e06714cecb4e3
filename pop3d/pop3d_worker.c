/* pop3d_worker: the helper threads; see pop3d_worker.h.  A thread never
 * touches a session: it fills the job and puts it on the done list; the
 * loop (on_wake) hands each job back.  The session that submitted a job
 * stays allocated until the job is back. */
#include "pop3d/pop3d_worker.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/users.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Reload the accounts file when it changed (checked once a second). */
static void users_maybe_refresh(struct pop3d_workers *w)
{
	char err[512];
	uint64_t now = mono_s();
	int rc;

	/* Most logins skip the write lock, which would wait for the other
	 * thread's password check. */
	if (__atomic_load_n(&w->users_checked, __ATOMIC_ACQUIRE) == now &&
	    !__atomic_load_n(&w->users_failed, __ATOMIC_ACQUIRE))
		return;
	pthread_rwlock_wrlock(&w->users_lock);
	if (w->users == NULL || now != w->users_checked) {
		if (w->users == NULL)
			rc = users_load(&w->users, w->users_path, err,
			    sizeof(err));
		else
			rc = users_refresh(&w->users, w->users_path, err,
			    sizeof(err));
		if (rc < 0 && !w->users_failed)	/* once, until it loads */
			log_warn("users_file: %s", err);
		__atomic_store_n(&w->users_failed, rc < 0, __ATOMIC_RELEASE);
		__atomic_store_n(&w->users_checked, now, __ATOMIC_RELEASE);
	}
	pthread_rwlock_unlock(&w->users_lock);
}

static void run_login(struct pop3d_workers *w, struct pop3d_job *j)
{
	users_maybe_refresh(w);
	pthread_rwlock_rdlock(&w->users_lock);
	j->ok = w->users != NULL &&
	    users_check_password(w->users, j->user, j->pass) == 1;
	pthread_rwlock_unlock(&w->users_lock);
	explicit_bzero(j->pass, sizeof(j->pass));
	j->rc = j->ok ? pop3d_mbox_open(j->mb, w->mail_root, j->user) : 0;
}

static void *worker_main(void *arg)
{
	struct pop3d_workers *w = arg;
	uint64_t one = 1;

	for (;;) {
		struct pop3d_job *j;

		pthread_mutex_lock(&w->mu);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if ((j = w->head) == NULL) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		if ((w->head = j->next) == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		if (j->kind == POP3D_JOB_LOGIN)
			run_login(w, j);
		else
			j->rc = pop3d_mbox_update(j->mb);
		pthread_mutex_lock(&w->mu);
		j->next = w->done;
		w->done = j;
		pthread_mutex_unlock(&w->mu);
		(void)!write(w->efd, &one, sizeof(one));
	}
}

static void arm_wake(struct pop3d_workers *w);

/* The eventfd fired: hand every finished job back, oldest first. */
static void on_wake(struct ev_op *op, int res, unsigned flags)
{
	struct pop3d_workers *w = container_of(op, struct pop3d_workers,
	    efd_op);
	struct pop3d_job *list, *rev = NULL;

	(void)flags;
	w->efd_busy = 0;
	if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED)
		fatalx("eventfd read: %s", strerror(-res));
	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	while (list != NULL) {
		struct pop3d_job *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct pop3d_job *next = rev->next;

		rev->next = NULL;
		rev->done(rev);		/* may free the job's owner */
		rev = next;
	}
	if (res != -ECANCELED)
		arm_wake(w);
}

static void arm_wake(struct pop3d_workers *w)
{
	if (w->efd_busy)
		return;
	w->efd_busy = 1;
	w->efd_op.fn = on_wake;
	ev_read(w->loop, &w->efd_op, w->efd, &w->efd_val,
	    sizeof(w->efd_val), -1);
}

int pop3d_workers_start(struct pop3d_workers *w, struct ev_loop *loop,
    const char *users_path, const char *mail_root)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->loop = loop;
	w->users_path = users_path;
	w->mail_root = mail_root;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_rwlock_init(&w->users_lock, NULL);
	if ((w->efd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	users_maybe_refresh(w);
	for (w->nth = 0; w->nth < POP3D_WORKER_THREADS; w->nth++)
		if ((rc = pthread_create(&w->th[w->nth], NULL, worker_main,
		    w)) != 0)
			return -rc;
	arm_wake(w);
	return 0;
}

void pop3d_workers_submit(struct pop3d_workers *w, struct pop3d_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void pop3d_workers_stop(struct pop3d_workers *w)
{
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < w->nth; i++)
		pthread_join(w->th[i], NULL);
	w->nth = 0;
	if (w->users != NULL)
		users_free(w->users);
	w->users = NULL;
}
