/* Unit tests for lib/workq, the helper threads of pop3d and smtpd: every
 * job runs off the loop's thread and comes back once, its done callback
 * on the loop's thread; jobs queued at stop still run.  A real io_uring
 * ring carries the eventfd that brings them back. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdint.h>

#include "lib/ev.h"
#include "lib/mem.h"
#include "lib/workq.h"

#define T_JOBS 64

struct t_job {
	struct workq_job wj;
	int id;
	pthread_t ran_on;
};

static struct ev_loop loop;
static pthread_t loop_thread;
static int done_order[T_JOBS], ndone;

static void t_run(struct workq_job *wj)
{
	struct t_job *j = container_of(wj, struct t_job, wj);

	j->ran_on = pthread_self();
}

static void t_done(struct workq_job *wj)
{
	struct t_job *j = container_of(wj, struct t_job, wj);

	cr_assert(pthread_equal(pthread_self(), loop_thread),
	    "done off the loop's thread");
	cr_assert_not(pthread_equal(j->ran_on, loop_thread),
	    "run on the loop's thread");
	done_order[ndone++] = j->id;
	if (ndone == T_JOBS)
		ev_stop(&loop);
}

Test(workq, jobs_run_on_threads_and_come_back_on_the_loop)
{
	static struct t_job jobs[T_JOBS];
	struct workq q;
	int seen[T_JOBS] = { 0 };

	loop_thread = pthread_self();
	cr_assert_eq(ev_init(&loop, 64), 0);
	cr_assert_eq(workq_start(&q, &loop, 3), 0);
	for (int i = 0; i < T_JOBS; i++) {
		jobs[i].id = i;
		jobs[i].wj.run = t_run;
		jobs[i].wj.done = t_done;
		workq_submit(&q, &jobs[i].wj);
	}
	cr_assert_eq(ev_run(&loop), 0);
	cr_assert_eq(ndone, T_JOBS);
	for (int i = 0; i < T_JOBS; i++)
		seen[done_order[i]]++;
	for (int i = 0; i < T_JOBS; i++)
		cr_assert_eq(seen[i], 1, "job %d came back %d times", i,
		    seen[i]);
	workq_stop(&q);
	ev_exit(&loop);
}

Test(workq, queued_jobs_run_before_stop_returns)
{
	static struct t_job jobs[8];
	struct workq q;

	loop_thread = pthread_self();
	cr_assert_eq(ev_init(&loop, 64), 0);
	cr_assert_eq(workq_start(&q, &loop, 1), 0);
	for (int i = 0; i < 8; i++) {
		jobs[i].ran_on = loop_thread;
		jobs[i].wj.run = t_run;
		jobs[i].wj.done = t_done;
		workq_submit(&q, &jobs[i].wj);
	}
	workq_stop(&q);
	for (int i = 0; i < 8; i++)
		cr_assert_not(pthread_equal(jobs[i].ran_on, loop_thread),
		    "job %d never ran", i);
	ev_exit(&loop);
}
