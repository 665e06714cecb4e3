/* remote_run: the agent process around its sessions; see remote_run.h.
 * One ring: the queue manager link, c-ares's sockets (lib/dns), every
 * SMTP connection, the stop signals and one tick timer that enforces
 * every deadline (sessions keep a deadline, the tick compares).
 * SIGTERM: no more jobs are read, idle connections say QUIT, jobs in
 * flight get REMOTE_STOP_GRACE_MS to finish, then are answered deferred;
 * the process exits once the answers are out (REMOTE_STOP_HARD_MS at
 * most). */
#include "deliver/remote_run.h"
#include "deliver/remote_agent.h"
#include "deliver/remote_dest.h"
#include "deliver/remote_session.h"
#include "deliver/remote_tls.h"
#include "lib/dns.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define REMOTE_RING_ENTRIES 4096
#define REMOTE_BUFS 2048		/* provided receive buffers ... */
#define REMOTE_BUF_SIZE 4096		/* ... of this size */
#define REMOTE_DNS_TIMEOUT_MS 5000

uint64_t remote_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned ms(unsigned secs)
{
	return secs > UINT32_MAX / 1000 ? UINT32_MAX : secs * 1000;
}

void remote_run_timeouts(const struct conf *c, struct remote_timeouts *t)
{
	t->connect = ms(c->smtp_connect_timeout);
	t->command = ms(c->smtp_command_timeout);
	t->data_block = ms(c->smtp_data_timeout);
	/* RFC 5321 4.5.3.2: DATA initiation 2 minutes, never more than a
	 * data block. */
	t->data_init = t->data_block < 120000 ? t->data_block : 120000;
	t->dot = ms(c->smtp_dot_timeout);
	t->quit = t->command < 10000 ? t->command : 10000;
}

static void job_link(struct remote *rm, struct remote_job *j)
{
	j->linked = 1;
	j->prev = NULL;
	j->next = rm->jobs;
	if (rm->jobs != NULL)
		rm->jobs->prev = j;
	rm->jobs = j;
	rm->njobs++;
}

static void job_unlink(struct remote *rm, struct remote_job *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		rm->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->next = j->prev = NULL;
	j->linked = 0;
	rm->njobs--;
}

void remote_run_job_done(struct remote *rm, struct remote_job *j)
{
	job_unlink(rm, j);
	if (rm->agent.up)
		remote_job_encode(j, &rm->agent.out);
	remote_job_free(j);
	free(j);
}

void remote_run_dispatch(struct remote *rm, struct remote_job *j)
{
	struct remote_dest *d;
	struct remote_session *s;
	char text[REMOTE_TEXT_MAX + 1];

	if (!j->linked)
		job_link(rm, j);
	if (j->bad != NULL) {
		log_warn("%s: malformed job %llu from the queue manager: %s",
		    j->qid[0] ? j->qid : "-", (unsigned long long)j->id, j->bad);
		snprintf(text, sizeof(text), "malformed delivery job: %s",
		    j->bad);
		remote_job_set_rest(j, REMOTE_DEFERRED, REMOTE_DSN_AGENT, "none",
		    text);
		remote_run_job_done(rm, j);
		return;
	}
	d = remote_dest_get(rm, j->nexthop);
	if (!j->fresh && (s = remote_dest_take_idle(d)) != NULL) {
		remote_session_reuse(s, j);
		return;
	}
	remote_session_start(rm, d, j);
}

void remote_run_abort_jobs(struct remote *rm)
{
	while (rm->jobs != NULL) {
		struct remote_job *j = rm->jobs;

		if (j->session != NULL)
			remote_session_abort(j->session);
		job_unlink(rm, j);
		remote_job_free(j);
		free(j);
	}
}

/* Stopping and out of patience: answer what is left deferred. */
static void stop_jobs(struct remote *rm)
{
	while (rm->jobs != NULL) {
		struct remote_job *j = rm->jobs;

		if (j->session != NULL)
			remote_session_abort(j->session);
		remote_job_set_rest(j, REMOTE_DEFERRED, REMOTE_DSN_AGENT, "none",
		    "delivery agent stopped");
		remote_run_job_done(rm, j);
	}
}

static void quit_idle(struct remote *rm)
{
	struct remote_session *s, *next;

	for (s = rm->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->state == RS_IDLE)
			remote_session_quit(s);
	}
}

static void stop_tick(struct remote *rm, uint64_t now)
{
	if (!rm->stop_jobs_aborted && now >= rm->stop_at + REMOTE_STOP_GRACE_MS) {
		rm->stop_jobs_aborted = 1;
		stop_jobs(rm);
	}
	quit_idle(rm);
	if ((rm->njobs == 0 && rm->nsessions == 0 &&
	    remote_agent_drained(rm)) || now >= rm->stop_at + REMOTE_STOP_HARD_MS)
		ev_stop(&rm->loop);
}

static void arm_tick(struct remote *rm)
{
	ev_timeout(&rm->loop, &rm->tick_op, &rm->tick_ts, REMOTE_TICK_MS);
}

static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct remote *rm = container_of(op, struct remote, tick_op);
	uint64_t now = remote_now_ms();
	struct remote_session *s, *next;

	(void)res;
	(void)flags;
	for (s = rm->sessions; s != NULL; s = next) {
		next = s->next;
		remote_session_tick(s, now);
	}
	remote_agent_tick(rm, now);
	if (rm->stopping)
		stop_tick(rm, now);
	arm_tick(rm);
}

static void on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct remote *rm = container_of(op, struct remote, sig.op);

	(void)flags;
	if (res == (int)sizeof(rm->sig.si) && !rm->stopping) {
		log_info("stopping (signal %u)", rm->sig.si.ssi_signo);
		rm->stopping = 1;
		rm->stop_at = remote_now_ms();
		remote_agent_stop_reading(rm);
		quit_idle(rm);
	}
	ev_signal_read(&rm->loop, &rm->sig);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct remote *rm = arg;

	(void)loop;
	remote_conn_flush_all(rm);
	remote_agent_flush(rm);
}

/* Jobs at once: enough descriptors for each job's queue file, its
 * connection and some cached ones. */
static unsigned slots(void)
{
	struct rlimit rl;
	rlim_t n;

	fds_raise_limit();
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 256)
		return 32;
	n = (rl.rlim_cur - 128) / 3;
	return n > REMOTE_SLOTS_MAX ? REMOTE_SLOTS_MAX : (unsigned)n;
}

static void dns_servers(const struct conf *c, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->n_dns_servers && len < n; i++) {
		int k = snprintf(out + len, n - len, "%s%s", i ? "," : "",
		    c->dns_servers[i].text);

		if (k < 0 || (size_t)k >= n - len) {
			out[len] = '\0';
			break;
		}
		len += (size_t)k;
	}
}

static void setup(struct remote *rm, const struct conf *conf)
{
	char servers[CONF_LIST_MAX * 300];
	int rc;

	rm->conf = conf;
	snprintf(rm->helo, sizeof(rm->helo), "%s", conf->smtp_helo_name[0] ?
	    conf->smtp_helo_name : conf->hostname);
	remote_run_timeouts(conf, &rm->t);
	rm->slots = slots();
	if ((rc = ev_init(&rm->loop, REMOTE_RING_ENTRIES)) < 0)
		fatalx("io_uring: %s", strerror(-rc));
	if ((rc = ev_bufring_setup(&rm->loop, &rm->br, 0, REMOTE_BUFS,
	    REMOTE_BUF_SIZE)) < 0)
		fatalx("buffer ring: %s", strerror(-rc));
	dns_servers(conf, servers, sizeof(servers));
	rm->dns = dns_open(&rm->loop, servers, REMOTE_DNS_TIMEOUT_MS);
	if (rm->dns == NULL)
		fatal("resolver");
	rm->tls_ctx = remote_tls_ctx_new(REMOTE_TLS_MAY);
	if (rm->tls_ctx == NULL)
		log_warn("no TLS client context: STARTTLS is off");
	remote_dest_init(rm);
	remote_agent_init(rm);
	buf_init(&rm->scratch, 0);
	buf_init(&rm->plain, 0);
	if ((rc = ev_signal_open(&rm->sig, on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	ev_signal_read(&rm->loop, &rm->sig);
	rm->tick_op.fn = on_tick;
	arm_tick(rm);
	rm->loop.before_sleep = before_sleep;
	rm->loop.before_sleep_arg = rm;
}

/* Free everything (sanitizer builds check for leaks at exit). */
static void teardown(struct remote *rm)
{
	remote_run_abort_jobs(rm);	/* unanswered: qmgr defers them */
	dns_close(rm->dns);	/* sessions still resolving end */
	ev_exit(&rm->loop);	/* no completion can come any more */
	remote_session_free_all(rm);
	remote_agent_exit(rm);
	remote_dest_exit(rm);
	remote_tls_ctx_free(rm->tls_ctx);
	buf_free(&rm->scratch);
	buf_free(&rm->plain);
	free(rm->br.mem);
}

int remote_run(const struct conf *conf)
{
	static struct remote rm;
	int rc;

	setup(&rm, conf);
	log_info("started: %u slots, helo %s", rm.slots, rm.helo);
	remote_agent_tick(&rm, remote_now_ms());
	rc = ev_run(&rm.loop);
	if (rc < 0)
		log_warn("event loop: %s", strerror(-rc));
	teardown(&rm);
	return rc < 0 ? 1 : 0;
}
