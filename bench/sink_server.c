/* sink_server: the ring, listeners, connections and signals of mta-sink;
 * see sink_server.h.  A connection is freed only once its I/O layer is
 * done and no timer or store op is in flight (busy), since the kernel may
 * still complete into it. */
#include "bench/sink_server.h"
#include "bench/sink_session.h"
#include "bench/sink_store.h"
#include "lib/netio.h"
#include "smtpd/smtpd_proto.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SINK_RING_ENTRIES 4096
#define SINK_RECV_BUFS 1024
#define SINK_RECV_BUFSZ (16 * 1024)
#define SINK_LISTENERS_MAX 32
#define SINK_TICK_MS 1000

struct sink_server;

struct sink_listener {
	struct ev_op op;
	struct sink_server *sv;
	int fd, armed;
};

struct sink_conn {
	struct netio io;
	struct sink_session s;
	struct sink_server *sv;
	struct ev_op timer_op;
	struct __kernel_timespec ts;
	struct sink_store store;
	char reply[128];
	size_t replylen;
	int busy, io_done, timed_out;
	uint64_t last_ms;		/* last input, for the idle timeout */
	struct sink_conn *prev, *next;	/* all connections, for the tick */
};

struct sink_server {
	const struct sink_opts *o;
	struct ev_loop loop;
	struct ev_bufring br;
	struct netio_sys ios;
	struct sink_env env;
	struct sink_stats stats;
	struct sink_fault fault;
	struct sink_listener ls[SINK_LISTENERS_MAX];
	size_t nls;
	struct ev_signal sig;
	double first, last;	/* first connection, last message (s) */
	uint64_t seen;		/* messages at the last check */
	struct sink_conn *conns;
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void conn_free(struct sink_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->sv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	sink_session_free(&c->s);
	free(c);
}

static void io_input(struct netio *io, const char *p, size_t n)
{
	struct sink_conn *c = container_of(io, struct sink_conn, io);

	c->last_ms = smtpd_now_ms();
	sink_session_input(&c->s, p, n);
}

static void io_eof(struct netio *io, int err)
{
	(void)err;
	sink_session_eof(&container_of(io, struct sink_conn, io)->s);
}

static void io_done(struct netio *io)
{
	struct sink_conn *c = container_of(io, struct sink_conn, io);

	c->io_done = 1;
	if (!c->busy)
		conn_free(c);
}

static const struct netio_cb sink_io_cb = {
	.input = io_input, .eof = io_eof, .done = io_done,
};

static void s_write(void *ctx, const char *p, size_t n)
{
	netio_write(&((struct sink_conn *)ctx)->io, p, n);
}

static void s_close(void *ctx)
{
	netio_close(&((struct sink_conn *)ctx)->io);
}

static void s_drop(void *ctx)
{
	netio_abort(&((struct sink_conn *)ctx)->io);
}

/* The delayed or stored reply is due: send it and let the session go on. */
static void reply_now(struct sink_conn *c)
{
	c->busy = 0;
	if (c->io_done) {
		conn_free(c);
		return;
	}
	netio_write(&c->io, c->reply, c->replylen);
	netio_pause(&c->io, NETIO_PAUSE_PROTO, 0);
	sink_session_resume(&c->s);
}

static void on_timer(struct ev_op *op, int res, unsigned flags)
{
	(void)res;
	(void)flags;
	reply_now(container_of(op, struct sink_conn, timer_op));
}

static void start_delay(struct sink_conn *c)
{
	c->timer_op.fn = on_timer;
	ev_timeout(&c->sv->loop, &c->timer_op, &c->ts, c->sv->o->delay_ms);
}

static void on_stored(struct sink_store *st, int err)
{
	struct sink_conn *c = container_of(st, struct sink_conn, store);

	if (err < 0) {
		static const char fail[] = "451 4.3.0 Cannot store (sink)\r\n";

		log_warn("store %s: %s", st->path, strerror(-err));
		memcpy(c->reply, fail, sizeof(fail) - 1);
		c->replylen = sizeof(fail) - 1;
	}
	if (c->sv->o->delay_ms > 0 && !c->io_done)
		start_delay(c);
	else
		reply_now(c);
}

static int s_finish(void *ctx, const char *reply, size_t n, struct buf *msg)
{
	struct sink_conn *c = ctx;
	struct sink_server *sv = c->sv;

	if (n > sizeof(c->reply))
		n = sizeof(c->reply);
	memcpy(c->reply, reply, n);
	c->replylen = n;
	if (msg != NULL || sv->o->delay_ms > 0)	/* no input meanwhile */
		netio_pause(&c->io, NETIO_PAUSE_PROTO, 1);
	if (msg != NULL) {
		c->busy = 1;
		sink_store_start(&c->store, &sv->loop, sv->o->store_dir,
		    sv->stats.messages, msg, on_stored);
		return 0;
	}
	if (sv->o->delay_ms == 0) {
		netio_write(&c->io, reply, n);
		return 1;
	}
	c->busy = 1;
	start_delay(c);
	return 0;
}

static const struct sink_session_ops sink_ops = {
	.write = s_write, .close = s_close, .drop = s_drop,
	.finish = s_finish,
};

static void conn_new(struct sink_server *sv, int fd)
{
	struct sink_conn *c = xcalloc(1, sizeof(*c));

	if (sv->stats.connections++ == 0)
		sv->first = now_s();
	c->sv = sv;
	c->last_ms = smtpd_now_ms();
	c->next = sv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	sv->conns = c;
	sink_session_init(&c->s, &sv->env, &sink_ops, c);
	netio_start(&c->io, &sv->ios, fd, &sink_io_cb);
	sink_session_start(&c->s);
}

static void on_accept(struct ev_op *op, int res, unsigned flags)
{
	struct sink_listener *l = container_of(op, struct sink_listener, op);

	if (!(flags & IORING_CQE_F_MORE))
		l->armed = 0;
	if (res >= 0)
		conn_new(l->sv, res);
	else if (res != -ECANCELED && res != -EINTR && res != -ECONNABORTED)
		log_warn("accept: %s", strerror(-res));
	l->op.fn = on_accept;
	if (!l->armed) {
		ev_accept(&l->sv->loop, &l->op, l->fd);
		l->armed = 1;
	}
}

/* Every second: a client silent for timeout_s gets 421 and is closed
 * (RFC 5321 4.5.3.2.7), so a test or benchmark that forgets a connection
 * never keeps the sink waiting forever.  Busy ones wait on us, not on it. */
static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	static const char msg[] = "421 4.4.2 mta-sink: idle timeout\r\n";
	struct sink_server *sv = container_of(op, struct sink_server, tick_op);
	uint64_t limit = (uint64_t)sv->o->timeout_s * 1000, now = smtpd_now_ms();

	(void)res;
	(void)flags;
	for (struct sink_conn *c = sv->conns; c != NULL; c = c->next) {
		if (c->busy || c->io_done || c->timed_out ||
		    now - c->last_ms < limit)
			continue;
		c->timed_out = 1;
		sv->stats.timeouts++;
		netio_write(&c->io, msg, sizeof(msg) - 1);
		netio_close(&c->io);
	}
	ev_timeout(&sv->loop, &sv->tick_op, &sv->tick_ts, SINK_TICK_MS);
}

/* Interim counts (SIGUSR1) go to stderr beside the log; the final ones to
 * stdout, where a script reads them (--json). */
static void report(struct sink_server *sv, FILE *f)
{
	double secs = sv->first > 0 && sv->last > sv->first ?
	    sv->last - sv->first : 0;

	sink_stats_print(&sv->stats, f, sv->o->json, secs);
	fflush(f);
}

static void on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct sink_server *sv = container_of(op, struct sink_server, sig.op);

	(void)flags;
	if (res == (int)sizeof(sv->sig.si)) {
		report(sv, sv->sig.si.ssi_signo == SIGUSR1 ? stderr : stdout);
		if (sv->sig.si.ssi_signo != SIGUSR1) {
			ev_stop(&sv->loop);
			return;
		}
	}
	ev_signal_read(&sv->loop, &sv->sig);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct sink_server *sv = arg;

	(void)loop;
	if (sv->stats.messages != sv->seen) {
		sv->seen = sv->stats.messages;
		sv->last = now_s();
	}
	netio_flush_all(&sv->ios);
}

/* SIGTERM and SIGINT come from ev; add SIGUSR1 to the same signalfd. */
static void setup_signals(struct sink_server *sv)
{
	sigset_t set;
	int rc;

	if ((rc = ev_signal_open(&sv->sig, on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    signalfd(sv->sig.fd, &set, 0) < 0)
		fatal("signalfd SIGUSR1");
	ev_signal_read(&sv->loop, &sv->sig);
}

static void bind_one(struct sink_server *sv, const struct sink_listen *l)
{
	struct addrinfo hints, *res, *ai;
	int one = 1, fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(l->host[0] ? l->host : NULL, l->port, &hints,
	    &res)) != 0)
		fatalx("%s:%s: %s", l->host, l->port, gai_strerror(rc));
	for (ai = res; ai != NULL && sv->nls < SINK_LISTENERS_MAX;
	    ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) < 0)
			fatal("socket");
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, 4096) < 0)
			fatal("listen %s:%s", l->host, l->port);
		sv->ls[sv->nls].sv = sv;
		sv->ls[sv->nls].fd = fd;
		sv->ls[sv->nls].op.fn = on_accept;
		sv->nls++;
	}
	freeaddrinfo(res);
}

static void setup(struct sink_server *sv, const struct sink_opts *o)
{
	int rc;

	sv->o = o;
	sink_stats_init(&sv->stats);
	sink_fault_seed(&sv->fault, o->seed);
	sv->fault.defer_pct = o->defer_pct;
	sv->fault.reject_pct = o->reject_pct;
	sv->fault.data_reject_pct = o->data_reject_pct;
	sv->fault.drop_pct = o->drop_pct;
	sv->env = (struct sink_env){ .opts = o, .stats = &sv->stats,
	    .fault = &sv->fault,
	    .async = o->delay_ms > 0 || o->store_dir != NULL };
	for (size_t i = 0; i < o->nlisten; i++)
		bind_one(sv, &o->listen[i]);
	if ((rc = ev_init(&sv->loop, SINK_RING_ENTRIES)) < 0)
		fatalx("io_uring setup: %s", strerror(-rc));
	if ((rc = ev_bufring_setup(&sv->loop, &sv->br, 0, SINK_RECV_BUFS,
	    SINK_RECV_BUFSZ)) < 0)
		fatalx("provided buffer ring: %s", strerror(-rc));
	sv->ios.loop = &sv->loop;
	sv->ios.br = &sv->br;
	for (size_t i = 0; i < sv->nls; i++) {
		ev_accept(&sv->loop, &sv->ls[i].op, sv->ls[i].fd);
		sv->ls[i].armed = 1;
	}
	setup_signals(sv);
	sv->tick_op.fn = on_tick;
	ev_timeout(&sv->loop, &sv->tick_op, &sv->tick_ts, SINK_TICK_MS);
	sv->loop.before_sleep = before_sleep;
	sv->loop.before_sleep_arg = sv;
}

int sink_server_run(const struct sink_opts *o)
{
	static struct sink_server server;
	int rc;

	setup(&server, o);
	log_info("listening on %zu socket(s)", server.nls);
	rc = ev_run(&server.loop);
	if (rc < 0) {
		log_warn("event loop: %s", strerror(-rc));
		return 1;
	}
	return 0;
}
