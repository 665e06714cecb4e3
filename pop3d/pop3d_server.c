/* pop3d_server: the event loop of mta-pop3d; see pop3d_server.h.  Each
 * connection is one allocation (struct pop3d_conn) on a list the tick
 * walks for deadlines; it is freed by pop3d_conn_release once netio is
 * done and none of its ops (helper-thread job, delay timer, file read)
 * is in flight.  Syscalls outside the ring: getpeername/setsockopt on
 * accept, open/close of message files, close(2). */
#include "pop3d/pop3d_server.h"
#include "pop3d/pop3d.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_accept(struct ev_op *op, int res, unsigned flags);

static void arm_accept(struct pop3d_listener *l)
{
	if (l->armed || l->fd < 0 || l->sv->stopping || l->sv->accept_paused)
		return;
	l->op.fn = on_accept;
	ev_accept(&l->sv->loop, &l->op, l->fd);
	l->armed = 1;
}

static void conn_input(struct netio *io, const char *p, size_t n)
{
	pop3d_session_input(container_of(io, struct pop3d_conn, io), p, n);
}

static void conn_eof(struct netio *io, int err)
{
	struct pop3d_conn *c = container_of(io, struct pop3d_conn, io);

	(void)err;
	if (c->state == POP3D_S_CLOSED)
		return;
	pop3d_session_end(c, "connection lost");
	pop3d_session_close(c);
}

static void conn_done(struct netio *io)
{
	struct pop3d_conn *c = container_of(io, struct pop3d_conn, io);

	if (c->state != POP3D_S_CLOSED)
		pop3d_session_end(c, "connection lost");
	c->io_done = 1;
	pop3d_conn_release(c);
}

static void conn_drain(struct netio *io)
{
	pop3d_trans_drain(container_of(io, struct pop3d_conn, io));
}

static const struct netio_cb conn_cb = {
	.input = conn_input,
	.eof = conn_eof,
	.done = conn_done,
	.drain = conn_drain,
};

static void conn_new(struct pop3d_server *sv, int fd)
{
	const char *busy = pop3d_reply_text(POP3D_R_TOO_MANY_CONN);
	struct sockaddr_storage ss;
	struct pop3d_conn *c;
	int one = 1;

	if (sv->stopping) {
		close(fd);
		return;
	}
	if (sv->nconns >= sv->conf->pop3_max_connections) {
		log_warn("connection limit %u reached",
		    sv->conf->pop3_max_connections);
		(void)!send(fd, busy, strlen(busy), MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->sv = sv;
	netio_peer(fd, c->ip, sizeof(c->ip), NULL, &ss);
	c->loopback = netio_is_loopback(&ss);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = sv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	sv->conns = c;
	sv->nconns++;
	netio_start(&c->io, &sv->ios, fd, &conn_cb);
	pop3d_session_start(c);
}

static void on_accept(struct ev_op *op, int res, unsigned flags)
{
	struct pop3d_listener *l = container_of(op, struct pop3d_listener, op);
	struct pop3d_server *sv = l->sv;

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

/* Close one session now: no UPDATE, so nothing is deleted. */
static void conn_stop(struct pop3d_conn *c, enum pop3d_reply r,
    const char *why)
{
	if (c->state == POP3D_S_CLOSED)
		return;
	pop3d_reply(c, r);
	pop3d_session_end(c, why);
	pop3d_session_close(c);
}

static void begin_stop(struct pop3d_server *sv)
{
	struct pop3d_conn *c, *next;

	if (sv->stopping)
		return;
	sv->stopping = 1;
	sv->stop_deadline = netio_now_ms() + POP3D_STOP_GRACE_MS;
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
		if (!c->job_busy)
			conn_stop(c, POP3D_R_SHUTDOWN, "shutdown");
	}
	if (sv->nconns == 0)
		ev_stop(&sv->loop);
}

static void on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct pop3d_server *sv = container_of(op, struct pop3d_server,
	    sig.op);

	(void)flags;
	if (res == (int)sizeof(sv->sig.si) && (sv->sig.si.ssi_signo == SIGTERM ||
	    sv->sig.si.ssi_signo == SIGINT))
		begin_stop(sv);
	else if (res < 0 && res != -EINTR && res != -EAGAIN)
		fatalx("signalfd read: %s", strerror(-res));
	ev_signal_read(&sv->loop, &sv->sig);
}

/* Every second: idle autologout, stuck closes, the end of the grace. */
static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct pop3d_server *sv = container_of(op, struct pop3d_server,
	    tick_op);
	uint64_t now = netio_now_ms();
	struct pop3d_conn *c, *next;

	(void)res;
	(void)flags;
	for (c = sv->conns; c != NULL; c = next) {
		next = c->next;
		if (sv->stopping && !c->job_busy)
			conn_stop(c, POP3D_R_SHUTDOWN, "shutdown");
		if (c->state != POP3D_S_CLOSED && !c->job_busy &&
		    !c->timer_busy && now >= c->deadline)
			conn_stop(c, POP3D_R_TIMEOUT, "idle timeout");
		if (c->io.closing && !c->io.shut &&
		    (now >= c->io.close_deadline ||
		    (sv->stopping && now >= sv->stop_deadline)))
			netio_abort(&c->io);
	}
	if (sv->accept_paused) {
		sv->accept_paused = 0;
		for (size_t i = 0; i < sv->nls; i++)
			arm_accept(&sv->ls[i]);
	}
	ev_timeout(&sv->loop, &sv->tick_op, &sv->tick_ts,
	    sv->stopping ? 100 : POP3D_TICK_MS);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct pop3d_server *sv = arg;

	(void)loop;
	netio_flush_all(&sv->ios);
}

static void setup(struct pop3d_server *sv, const struct conf *c,
    const int *fds, size_t nfds)
{
	int rc;

	sv->conf = c;
	if (snprintf(sv->mail_root, sizeof(sv->mail_root), "%s/mail",
	    c->state_dir) >= (int)sizeof(sv->mail_root))
		fatalx("state_dir too long: %s", c->state_dir);
	if ((rc = ev_signal_open(&sv->sig, on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	if ((rc = ev_init(&sv->loop, POP3D_RING_ENTRIES)) < 0)
		fatalx("io_uring setup: %s", strerror(-rc));
	if ((rc = ev_bufring_setup(&sv->loop, &sv->br, 0, POP3D_RECV_BUFS,
	    POP3D_RECV_BUFSZ)) < 0)
		fatalx("provided buffer ring: %s", strerror(-rc));
	sv->ios.loop = &sv->loop;
	sv->ios.br = &sv->br;
	pop3d_fail_init(&sv->fails, POP3D_FAIL_SLOTS, c->pop3_auth_fail_limit,
	    c->pop3_auth_fail_window);
	if ((rc = pop3d_workers_start(&sv->workers, &sv->loop, c->users_file,
	    sv->mail_root)) < 0)
		fatalx("helper threads: %s", strerror(-rc));
	if (nfds > POP3D_LISTEN_MAX)
		fatalx("too many listening sockets (%zu)", nfds);
	for (size_t i = 0; i < nfds; i++) {
		sv->ls[i].sv = sv;
		sv->ls[i].fd = fds[i];
		arm_accept(&sv->ls[i]);
	}
	sv->nls = nfds;
	ev_signal_read(&sv->loop, &sv->sig);
	sv->tick_op.fn = on_tick;
	ev_timeout(&sv->loop, &sv->tick_op, &sv->tick_ts, POP3D_TICK_MS);
	sv->loop.before_sleep = before_sleep;
	sv->loop.before_sleep_arg = sv;
}

int pop3d_server_run(const struct conf *c, const int *fds, size_t nfds)
{
	static struct pop3d_server server;
	struct pop3d_server *sv = &server;
	int rc;

	setup(sv, c, fds, nfds);
	log_info("ready: %zu listener(s), up to %u connections", nfds,
	    c->pop3_max_connections);
	rc = ev_run(&sv->loop);
	pop3d_workers_stop(&sv->workers);
	pop3d_fail_free(&sv->fails);
	if (rc < 0) {
		log_warn("event loop: %s", strerror(-rc));
		return 1;
	}
	log_info("stopped");
	return 0;
}
