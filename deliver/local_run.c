/* local_run: the local agent process around its deliveries; see
 * local_run.h.  Jobs wait in a FIFO until their recipients get a delivery
 * slot (local_concurrency in flight; HELLO announces as many job slots).
 * SIGTERM: no more jobs are read, deliveries in flight get
 * LOCAL_STOP_GRACE_MS to finish, then their jobs are answered deferred;
 * the process exits once the answers are out (LOCAL_STOP_HARD_MS at
 * most). */
#include "deliver/local_run.h"
#include "deliver/local_dlv.h"
#include "deliver/local_mbox.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/users.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOCAL_RING_ENTRIES 1024

static struct local *link_owner(struct agent_link *l)
{
	return container_of(l, struct local, link);
}

void local_run_set(struct local *lo, struct local_job *j, size_t ri,
    enum agent_class c, const char *dsn, const char *text)
{
	agent_job_set(&j->a, ri, c, dsn, LOCAL_RELAY, text);
	if (j->a.nleft == 0 && j->next_ri >= j->a.nrcpt)
		agent_link_job_done(&lo->link, &j->a);
}

static void dequeue(struct local *lo, struct local_job *j)
{
	struct local_job **pp = &lo->q_head, *prev = NULL;

	if (!j->queued)
		return;
	while (*pp != NULL && *pp != j) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (*pp == NULL)
		return;
	*pp = j->qnext;
	if (lo->q_tail == j)
		lo->q_tail = prev;
	j->qnext = NULL;
	j->queued = 0;
}

void local_run_more(struct local *lo)
{
	while (lo->q_head != NULL && lo->ndlvs < lo->concurrency) {
		struct local_job *j = lo->q_head;
		size_t ri = j->next_ri++;

		if (j->next_ri >= j->a.nrcpt)
			dequeue(lo, j);
		/* The last recipient's result may answer and free j. */
		local_dlv_start(lo, j, ri);
	}
}

static void on_job(struct agent_link *l, struct agent_job *aj)
{
	struct local *lo = link_owner(l);
	struct local_job *j = container_of(aj, struct local_job, a);

	j->queued = 1;
	if (lo->q_tail != NULL)
		lo->q_tail->qnext = j;
	else
		lo->q_head = j;
	lo->q_tail = j;
	local_run_more(lo);
}

static void on_abort(struct agent_link *l, struct agent_job *aj)
{
	struct local *lo = link_owner(l);
	struct local_job *j = container_of(aj, struct local_job, a);

	dequeue(lo, j);
	j->next_ri = j->a.nrcpt;
	local_dlv_abort_job(lo, j);
}

static int hop_local(struct agent_job *j, const char *v, size_t n,
    const char **why)
{
	(void)j;
	if (n == strlen(LOCAL_RELAY) && memcmp(v, LOCAL_RELAY, n) == 0)
		return 0;
	*why = "NEXTHOP is not \"local\"";
	return -EINVAL;
}

static const struct agent_ops local_agent_ops = {
	.kind = "local",
	.job_size = sizeof(struct local_job),
	.rcpt_max = AGENT_JOB_RCPT_MAX,
	.hop = hop_local,
	.dispatch = on_job,
	.abort = on_abort,
};

static void stop_tick(struct local *lo, uint64_t now)
{
	if (!lo->stop_jobs_aborted && now >= lo->stop_at + LOCAL_STOP_GRACE_MS) {
		lo->stop_jobs_aborted = 1;
		agent_link_stop_jobs(&lo->link, "delivery agent stopped");
	}
	if ((lo->link.njobs == 0 && lo->ndlvs == 0 &&
	    agent_link_drained(&lo->link)) ||
	    now >= lo->stop_at + LOCAL_STOP_HARD_MS)
		ev_stop(&lo->loop);
}

static void arm_tick(struct local *lo)
{
	ev_timeout(&lo->loop, &lo->tick_op, &lo->tick_ts, LOCAL_TICK_MS);
}

static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct local *lo = container_of(op, struct local, tick_op);
	uint64_t now = agent_now_ms();

	(void)res;
	(void)flags;
	agent_link_tick(&lo->link, now);
	if (lo->stopping)
		stop_tick(lo, now);
	arm_tick(lo);
}

static void on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct local *lo = container_of(op, struct local, sig.op);

	(void)flags;
	if (res == (int)sizeof(lo->sig.si) && !lo->stopping) {
		log_info("stopping (signal %u)", lo->sig.si.ssi_signo);
		lo->stopping = 1;
		lo->stop_at = agent_now_ms();
		agent_link_stop_reading(&lo->link);
	}
	ev_signal_read(&lo->loop, &lo->sig);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct local *lo = arg;

	(void)loop;
	agent_link_flush(&lo->link);
}

static void setup(struct local *lo, const struct conf *conf)
{
	char err[512];
	int rc;

	lo->conf = conf;
	lo->concurrency = conf->local_concurrency ? conf->local_concurrency : 1;
	if (snprintf(lo->mail_root, sizeof(lo->mail_root), "%s/mail",
	    conf->state_dir) >= (int)sizeof(lo->mail_root))
		fatalx("state_dir %s: path too long", conf->state_dir);
	if ((rc = ev_init(&lo->loop, LOCAL_RING_ENTRIES)) < 0)
		fatalx("io_uring: %s", strerror(-rc));
	if (users_load(&lo->users, conf->users_file, err, sizeof(err)) < 0)
		log_warn("users_file %s (retrying)", err);
	agent_link_init(&lo->link, &local_agent_ops, &lo->loop,
	    conf->state_dir, lo->concurrency);
	if ((rc = ev_signal_open(&lo->sig, on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	ev_signal_read(&lo->loop, &lo->sig);
	lo->tick_op.fn = on_tick;
	arm_tick(lo);
	lo->loop.before_sleep = before_sleep;
	lo->loop.before_sleep_arg = lo;
}

/* Free everything (sanitizer builds check for leaks at exit). */
static void teardown(struct local *lo)
{
	agent_link_abort_jobs(&lo->link);	/* unanswered: qmgr defers */
	ev_exit(&lo->loop);	/* no completion can come any more */
	local_dlv_free_all(lo);
	local_mbox_exit(lo);
	agent_link_exit(&lo->link);
	if (lo->users != NULL)
		users_free(lo->users);
}

int local_run(const struct conf *conf)
{
	static struct local lo;
	int rc;

	setup(&lo, conf);
	log_info("started: %u deliveries at once, mailboxes in %s",
	    lo.concurrency, lo.mail_root);
	agent_link_tick(&lo.link, agent_now_ms());
	rc = ev_run(&lo.loop);
	if (rc < 0)
		log_warn("event loop: %s", strerror(-rc));
	teardown(&lo);
	return rc < 0 ? 1 : 0;
}
