/* smtpd_server: the worker's event loop; see smtpd_server.h.  A
 * connection is one allocation (struct smtpd_conn: I/O state + session)
 * on a list that the periodic tick walks to enforce deadlines.  It is
 * freed only from netio's done callback, i.e. once no op on the ring
 * refers to it.  Nothing here blocks: the only syscalls outside the ring
 * are getpeername/setsockopt on accept, close(2) and smtpd_local's stat
 * of users_file and aliases_file (once a second at most). */
#include "smtpd/smtpd_server.h"
#include "smtpd/smtpd_io.h"
#include "smtpd/smtpd_local.h"
#include "smtpd/smtpd_policy.h"
#include "smtpd/smtpd_proto.h"
#include "smtpd/smtpd_qclient.h"
#include "smtpd/smtpd_reply.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct smtpd_server;

struct smtpd_listener {
	struct ev_op op;
	struct smtpd_server *sv;
	int fd;
	int armed;
};

struct smtpd_conn {
	struct netio io;
	struct smtpd_session s;
	struct smtpd_server *sv;
	struct smtpd_conn *prev, *next;
};

struct smtpd_server {
	const struct conf *conf;
	struct ev_loop loop;
	struct ev_bufring br;
	struct netio_sys ios;
	struct smtpd_qclient qc;
	struct smtpd_local local;	/* users and aliases tables */
	struct smtpd_listener ls[SMTPD_LISTEN_MAX];
	size_t nls;
	struct smtpd_conn *conns;
	unsigned nconns;
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
	struct ev_signal sig;
	int stopping, forced, accept_paused;
	uint64_t stop_deadline;
};

static void on_accept(struct ev_op *op, int res, unsigned flags);

static void arm_accept(struct smtpd_listener *l)
{
	if (l->armed || l->fd < 0 || l->sv->stopping || l->sv->accept_paused)
		return;
	l->op.fn = on_accept;
	ev_accept(&l->sv->loop, &l->op, l->fd);
	l->armed = 1;
}

static void conn_input(struct netio *io, const char *p, size_t n)
{
	smtpd_proto_input(&container_of(io, struct smtpd_conn, io)->s, p, n);
}

static void conn_eof(struct netio *io, int err)
{
	struct smtpd_conn *c = container_of(io, struct smtpd_conn, io);

	smtpd_proto_eof(&c->s, err != 0);
}

static void conn_done(struct netio *io)
{
	struct smtpd_conn *c = container_of(io, struct smtpd_conn, io);
	struct smtpd_server *sv = c->sv;

	smtpd_proto_free(&c->s);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		sv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	sv->nconns--;
	free(c);
	if (sv->stopping && sv->nconns == 0)
		ev_stop(&sv->loop);
}

static const struct netio_cb conn_cb = {
	.input = conn_input,
	.eof = conn_eof,
	.done = conn_done,
};

/* Over the connection limit: say so without a session, and close. */
static void refuse(struct smtpd_server *sv, int fd)
{
	char line[SMTPD_REPLY_MAX];
	size_t n = smtpd_reply_format(line, sizeof(line),
	    SMTPD_R_TOO_MANY_CONN, sv->conf->hostname);

	(void)!send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void conn_new(struct smtpd_server *sv, int fd)
{
	struct sockaddr_storage ss;
	struct smtpd_conn *c;
	int one = 1;

	if (sv->stopping) {
		close(fd);
		return;
	}
	if (sv->nconns >= sv->conf->smtpd_max_connections) {
		log_warn("connection limit %u reached",
		    sv->conf->smtpd_max_connections);
		refuse(sv, fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->sv = sv;
	smtpd_proto_init(&c->s, sv->conf);
	c->s.local = &sv->local;
	netio_peer(fd, c->s.client_ip, sizeof(c->s.client_ip),
	    &c->s.client_port, &ss);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->s.trusted = ss.ss_family != AF_UNSPEC &&
	    smtpd_policy_trusted(sv->conf, (struct sockaddr *)&ss);
	c->s.io = &smtpd_io_session_ops;
	c->s.io_ctx = &c->io;
	c->s.sink = &smtpd_qclient_ops;
	c->s.sink_ctx = &sv->qc;
	c->next = sv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	sv->conns = c;
	sv->nconns++;
	netio_start(&c->io, &sv->ios, fd, &conn_cb);
	smtpd_proto_start(&c->s);
}

static void on_accept(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_listener *l = container_of(op, struct smtpd_listener, op);
	struct smtpd_server *sv = l->sv;

	if (!(flags & IORING_CQE_F_MORE))
		l->armed = 0;
	if (res >= 0) {
		conn_new(sv, res);
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOMEM ||
	    res == -ENOBUFS) {
		if (!sv->accept_paused)
			log_warn("accept: %s; pausing", strerror(-res));
		sv->accept_paused = 1;	/* the tick re-arms */
	} else if (res != -ECANCELED && res != -EINTR &&
	    res != -ECONNABORTED) {
		log_warn("accept: %s", strerror(-res));
	}
	if (sv->stopping && !l->armed && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	arm_accept(l);
}

/* Close what is idle, let transactions finish, stop listening. */
static void begin_stop(struct smtpd_server *sv)
{
	struct smtpd_conn *c, *next;

	if (sv->stopping) {
		sv->stop_deadline = 0;	/* a second signal: now */
		return;
	}
	sv->stopping = 1;
	sv->stop_deadline = smtpd_now_ms() + SMTPD_STOP_GRACE_MS;
	log_info("stopping (%u connections)", sv->nconns);
	for (size_t i = 0; i < sv->nls; i++) {
		if (sv->ls[i].armed) {
			ev_cancel_op(&sv->loop, &sv->ls[i].op);
		} else if (sv->ls[i].fd >= 0) {
			close(sv->ls[i].fd);
			sv->ls[i].fd = -1;
		}
	}
	for (c = sv->conns; c != NULL; c = next) {
		next = c->next;
		smtpd_proto_shutdown(&c->s, 0);
	}
	if (sv->nconns == 0)
		ev_stop(&sv->loop);
}

static void on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_server *sv = container_of(op, struct smtpd_server,
	    sig.op);

	(void)flags;
	if (res == (int)sizeof(sv->sig.si) && (sv->sig.si.ssi_signo == SIGTERM ||
	    sv->sig.si.ssi_signo == SIGINT))
		begin_stop(sv);
	else if (res < 0 && res != -EINTR && res != -EAGAIN)
		fatalx("signalfd read: %s", strerror(-res));
	ev_signal_read(&sv->loop, &sv->sig);
}

/* Every second: deadlines, stuck closes, the end of the grace period. */
static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_server *sv = container_of(op, struct smtpd_server,
	    tick_op);
	uint64_t now = smtpd_now_ms();
	int force = sv->stopping && !sv->forced && now >= sv->stop_deadline;
	struct smtpd_conn *c, *next;

	(void)res;
	(void)flags;
	if (force) {
		sv->forced = 1;
		log_info("grace period over: closing %u connections",
		    sv->nconns);
	}
	for (c = sv->conns; c != NULL; c = next) {
		next = c->next;
		if (force)
			smtpd_proto_shutdown(&c->s, 1);
		else if (c->s.deadline != 0 && now >= c->s.deadline)
			smtpd_proto_timeout(&c->s);
		if (c->io.closing && !c->io.shut &&
		    now >= c->io.close_deadline)
			netio_abort(&c->io);
	}
	if (sv->accept_paused) {
		sv->accept_paused = 0;
		for (size_t i = 0; i < sv->nls; i++)
			arm_accept(&sv->ls[i]);
	}
	ev_timeout(&sv->loop, &sv->tick_op, &sv->tick_ts,
	    sv->stopping ? 100 : SMTPD_TICK_MS);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct smtpd_server *sv = arg;

	(void)loop;
	netio_flush_all(&sv->ios);
	smtpd_qclient_flush(&sv->qc);
}

static void setup_signals(struct smtpd_server *sv)
{
	int rc;

	if ((rc = ev_signal_open(&sv->sig, on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	ev_signal_read(&sv->loop, &sv->sig);
}

static void setup(struct smtpd_server *sv, const struct conf *c,
    const int *fds, size_t nfds)
{
	int rc;

	sv->conf = c;
	smtpd_local_init(&sv->local, c);
	if ((rc = ev_init(&sv->loop, SMTPD_RING_ENTRIES)) < 0)
		fatalx("io_uring setup: %s", strerror(-rc));
	if ((rc = ev_bufring_setup(&sv->loop, &sv->br, 0, SMTPD_RECV_BUFS,
	    SMTPD_RECV_BUFSZ)) < 0)
		fatalx("provided buffer ring: %s", strerror(-rc));
	sv->ios.loop = &sv->loop;
	sv->ios.br = &sv->br;
	if (smtpd_qclient_init(&sv->qc, &sv->loop, c->state_dir) < 0)
		fatalx("state_dir too long for a socket path: %s",
		    c->state_dir);
	if (nfds > SMTPD_LISTEN_MAX)
		fatalx("too many listening sockets (%zu)", nfds);
	for (size_t i = 0; i < nfds; i++) {
		sv->ls[i].sv = sv;
		sv->ls[i].fd = fds[i];
		arm_accept(&sv->ls[i]);
	}
	sv->nls = nfds;
	setup_signals(sv);
	sv->tick_op.fn = on_tick;
	ev_timeout(&sv->loop, &sv->tick_op, &sv->tick_ts, SMTPD_TICK_MS);
	sv->loop.before_sleep = before_sleep;
	sv->loop.before_sleep_arg = sv;
	smtpd_qclient_start(&sv->qc);
}

int smtpd_server_run(const struct conf *c, const int *fds, size_t nfds)
{
	static struct smtpd_server server;
	struct smtpd_server *sv = &server;
	int rc;

	setup(sv, c, fds, nfds);
	log_info("ready: %zu listener(s), up to %u connections", nfds,
	    c->smtpd_max_connections);
	rc = ev_run(&sv->loop);
	smtpd_qclient_stop(&sv->qc);
	smtpd_local_free(&sv->local);
	if (rc < 0) {
		log_warn("event loop: %s", strerror(-rc));
		return 1;
	}
	log_info("stopped");
	return 0;
}

size_t smtpd_server_bind(const struct conf *c, int *fds, size_t max)
{
	return netio_bind_all(c->smtp_listen, c->n_smtp_listen, fds, max);
}
