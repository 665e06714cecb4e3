/* remote_run: the agent process around its sessions; see remote_run.h.
 * One ring: the queue manager link, c-ares's sockets (lib/dns), every
 * SMTP connection, the stop signals and one tick timer that enforces
 * every deadline (sessions keep a deadline, the tick compares).
 * SIGTERM: no more jobs are read, idle connections say QUIT, jobs in
 * flight get REMOTE_STOP_GRACE_MS to finish, then are answered deferred;
 * the process exits once the answers are out (REMOTE_STOP_HARD_MS at
 * most). */
#include "deliver/remote_run.h"
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

#define REMOTE_RING_ENTRIES 4096
#define REMOTE_BUFS 2048		/* provided receive buffers ... */
#define REMOTE_BUF_SIZE 4096		/* ... of this size */
#define REMOTE_DNS_TIMEOUT_MS 5000

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

void remote_run_job_done(struct remote *rm, struct remote_job *j)
{
	agent_link_job_done(&rm->link, &j->a);
}

void remote_run_dispatch(struct remote *rm, struct remote_job *j)
{
	struct remote_dest *d;
	struct remote_session *s;

	d = remote_dest_get(rm, j->a.nexthop);
	if (!j->fresh && (s = remote_dest_take_idle(d)) != NULL) {
		remote_session_reuse(s, j);
		return;
	}
	remote_session_start(rm, d, j);
}

static void on_job(struct agent_link *l, struct agent_job *j)
{
	remote_run_dispatch(container_of(l, struct remote, link),
	    container_of(j, struct remote_job, a));
}

static void on_abort(struct agent_link *l, struct agent_job *aj)
{
	struct remote_job *j = container_of(aj, struct remote_job, a);

	(void)l;
	if (j->session != NULL)
		remote_session_abort(j->session);
}

static const struct agent_ops remote_agent_ops = {
	.kind = "remote",
	.job_size = sizeof(struct remote_job),
	.rcpt_max = AGENT_JOB_RCPT_MAX,
	.hop = remote_job_hop,
	.dispatch = on_job,
	.abort = on_abort,
};

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
		agent_link_stop_jobs(&rm->link, "delivery agent stopped");
	}
	quit_idle(rm);
	if ((rm->link.njobs == 0 && rm->nsessions == 0 &&
	    agent_link_drained(&rm->link)) ||
	    now >= rm->stop_at + REMOTE_STOP_HARD_MS)
		ev_stop(&rm->loop);
}

static void arm_tick(struct remote *rm)
{
	ev_timeout(&rm->loop, &rm->tick_op, &rm->tick_ts, REMOTE_TICK_MS);
}

static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct remote *rm = container_of(op, struct remote, tick_op);
	uint64_t now = agent_now_ms();
	struct remote_session *s, *next;

	(void)res;
	(void)flags;
	for (s = rm->sessions; s != NULL; s = next) {
		next = s->next;
		remote_session_tick(s, now);
	}
	agent_link_tick(&rm->link, now);
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
		rm->stop_at = agent_now_ms();
		agent_link_stop_reading(&rm->link);
		quit_idle(rm);
	}
	ev_signal_read(&rm->loop, &rm->sig);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct remote *rm = arg;

	(void)loop;
	remote_conn_flush_all(rm);
	agent_link_flush(&rm->link);
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

/* One client context for every policy.  A trust store that does not
 * load is not fatal: "verify" deliveries defer with the reason, the rest
 * go on. */
static void setup_tls(struct remote *rm, const struct conf *conf)
{
	char err[CONF_ERR_MAX];

	rm->tls_ctx = remote_tls_ctx_new(conf->smtp_tls_ca_file, err,
	    sizeof(err));
	if (rm->tls_ctx == NULL)
		log_warn("no TLS client context: STARTTLS is off, policies "
		    "must and verify defer");
	else if (err[0] != '\0')
		log_warn("smtp_tls_ca_file: %s", err);
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
	setup_tls(rm, conf);
	remote_dest_init(rm);
	agent_link_init(&rm->link, &remote_agent_ops, &rm->loop,
	    conf->state_dir, rm->slots);
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
	agent_link_abort_jobs(&rm->link);	/* unanswered: qmgr defers */
	dns_close(rm->dns);	/* sessions still resolving end */
	ev_exit(&rm->loop);	/* no completion can come any more */
	remote_session_free_all(rm);
	agent_link_exit(&rm->link);
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
	agent_link_tick(&rm.link, agent_now_ms());
	rc = ev_run(&rm.loop);
	if (rc < 0)
		log_warn("event loop: %s", strerror(-rc));
	teardown(&rm);
	return rc < 0 ? 1 : 0;
}
