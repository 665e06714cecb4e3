/* pop3d_worker: pop3d's jobs on lib/workq; see pop3d_worker.h.  A thread
 * never touches a session, only the job; the session that submitted a job
 * stays allocated until the job is back. */
#include "pop3d/pop3d_worker.h"
#include "lib/mem.h"

#include <string.h>

static void run_login(struct pop3d_workers *w, struct pop3d_job *j)
{
	j->ok = authdb_check(&w->db, j->user, j->pass) == 1;
	explicit_bzero(j->pass, sizeof(j->pass));
	j->rc = j->ok ? pop3d_mbox_open(j->mb, w->mail_root, j->user) : 0;
}

static void job_run(struct workq_job *wj)
{
	struct pop3d_job *j = container_of(wj, struct pop3d_job, wj);

	if (j->kind == POP3D_JOB_LOGIN)
		run_login(j->w, j);
	else
		j->rc = pop3d_mbox_update(j->mb);
}

static void job_done(struct workq_job *wj)
{
	struct pop3d_job *j = container_of(wj, struct pop3d_job, wj);

	j->done(j);		/* may free the job's owner */
}

int pop3d_workers_start(struct pop3d_workers *w, struct ev_loop *loop,
    const char *users_path, unsigned auth_cache_ttl, const char *mail_root)
{
	memset(w, 0, sizeof(*w));
	w->mail_root = mail_root;
	authdb_init(&w->db, users_path, auth_cache_ttl);
	return workq_start(&w->q, loop, POP3D_WORKER_THREADS);
}

void pop3d_workers_submit(struct pop3d_workers *w, struct pop3d_job *j)
{
	j->w = w;
	j->wj.run = job_run;
	j->wj.done = job_done;
	workq_submit(&w->q, &j->wj);
}

void pop3d_workers_stop(struct pop3d_workers *w)
{
	workq_stop(&w->q);
	authdb_free(&w->db);
}
