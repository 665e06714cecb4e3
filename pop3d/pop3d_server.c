/* pop3d_server: the event loop of mta-pop3d; see pop3d_server.h.  Each
 * connection is one allocation (struct pop3d_conn) on netsrv's list,
 * which the tick walks for deadlines; it is freed by pop3d_conn_release
 * once netio is done and none of its ops (helper-thread job, delay timer, file read)
 * is in flight.  Syscalls outside the ring: getpeername/setsockopt on
 * accept, open/close of message files, close(2). */
#include "pop3d/pop3d_server.h"
#include "pop3d/pop3d.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netio_tls.h"
#include "lib/sandbox.h"
#include "lib/tls_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_input(struct netio *io, const char *p, size_t n)
{
	pop3d_session_input(container_of(io, struct pop3d_conn, io), p, n);
}

static void conn_eof(struct netio *io, int err)
{
	struct pop3d_conn *c = container_of(io, struct pop3d_conn, io);

	netio_tls_log_failure(io, err, c->ip);
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
	connlimit_leave(&c->sv->cl, &c->cl);
	c->io_done = 1;
	pop3d_conn_release(c);
}

static void conn_drain(struct netio *io)
{
	pop3d_trans_drain(container_of(io, struct pop3d_conn, io));
}

static void conn_secured(struct netio *io)
{
	struct pop3d_conn *c = container_of(io, struct pop3d_conn, io);

	if (!pop3d_session_secured(c))	/* not a refusal waiting for TLS */
		netio_tls_log_up(io, c->ip);
}

static const struct netio_cb conn_cb = {
	.input = conn_input,
	.eof = conn_eof,
	.done = conn_done,
	.drain = conn_drain,
	.secured = conn_secured,
};

static struct pop3d_server *server_of(struct netsrv *srv)
{
	return container_of(srv, struct pop3d_server, srv);
}

/* Count the client (lib/connlimit); 0 to admit it, or the -ERR that
 * replaces its greeting. */
static int conn_limit(struct pop3d_server *sv, struct pop3d_conn *c,
    const struct sockaddr_storage *ss)
{
	const struct conf *cf = sv->conf;
	enum connlimit_verdict v = connlimit_enter(&sv->cl, &c->cl,
	    ss->ss_family == AF_UNSPEC ? NULL : (const struct sockaddr *)ss,
	    cf->pop3_client_connection_limit, cf->pop3_max_connections);

	if (v == CONNLIMIT_OK)
		return 0;
	connlimit_log_refusal(&sv->cl, v, c->ip, v == CONNLIMIT_CLIENT ?
	    cf->pop3_client_connection_limit : cf->pop3_max_connections);
	return v == CONNLIMIT_CLIENT ? POP3D_R_TOO_MANY_CONN_ADDR :
	    POP3D_R_TOO_MANY_CONN;
}

static void conn_new(struct netsrv *srv, int fd, int tag)
{
	struct pop3d_server *sv = server_of(srv);
	struct sockaddr_storage ss;
	struct pop3d_conn *c;
	int one = 1, refuse;

	/* Refused ones still closing fill the process: a flood. */
	if (srv->nconns / 2 >= sv->conf->pop3_max_connections) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->sv = sv;
	netio_peer(fd, c->ip, sizeof(c->ip), NULL, &ss);
	refuse = conn_limit(sv, c, &ss);
	if (srv->stopping && refuse == 0)
		refuse = POP3D_R_SHUTDOWN;	/* accepted as the stop began */
	c->loopback = netio_is_loopback(&ss);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	netsrv_conn_add(srv, &c->node);
	netio_start(&c->io, &srv->ios, fd, &conn_cb);
	if (tag == POP3D_PORT_POP3S) {
		/* Implicit TLS (RFC 8314): the greeting waits for it. */
		if (netio_tls_implicit(&c->io, sv->tls_ctx, c->ip) < 0) {
			c->state = POP3D_S_CLOSED;
			return;
		}
		c->tls = 1;
	}
	if (refuse)
		pop3d_session_refuse(c, (enum pop3d_reply)refuse);
	else
		pop3d_session_start(c);
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

/* SIGTERM: stop accepting and end the sessions (helper-thread jobs in
 * flight come back first; the tick ends those sessions). */
static void begin_stop(struct netsrv *srv)
{
	struct pop3d_server *sv = server_of(srv);
	struct netsrv_node *n, *next;

	if (!netsrv_stop_accepting(srv))
		return;
	sv->stop_deadline = netio_now_ms() + POP3D_STOP_GRACE_MS;
	log_info("stopping (%u connections)", srv->nconns);
	for (n = srv->conns; n != NULL; n = next) {
		struct pop3d_conn *c = container_of(n, struct pop3d_conn, node);

		next = n->next;
		if (!c->job_busy)
			conn_stop(c, POP3D_R_SHUTDOWN, "shutdown");
	}
}

/* Every second: idle autologout, stuck closes, the end of the grace. */
/* Every second: idle autologout, stuck closes, the end of the grace. */
static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct pop3d_server *sv = container_of(op, struct pop3d_server,
	    tick_op);
	struct netsrv *srv = &sv->srv;
	uint64_t now = netio_now_ms();
	struct netsrv_node *n, *next;

	(void)res;
	(void)flags;
	for (n = srv->conns; n != NULL; n = next) {
		struct pop3d_conn *c = container_of(n, struct pop3d_conn, node);

		next = n->next;
		if (srv->stopping && !c->job_busy)
			conn_stop(c, POP3D_R_SHUTDOWN, "shutdown");
		if (c->state != POP3D_S_CLOSED && !c->job_busy &&
		    !c->timer_busy && now >= c->deadline)
			conn_stop(c, POP3D_R_TIMEOUT, "idle timeout");
		if (c->io.closing && !c->io.shut &&
		    (now >= c->io.close_deadline ||
		    (srv->stopping && now >= sv->stop_deadline)))
			netio_abort(&c->io);
	}
	netsrv_resume_accepting(srv);
	ev_timeout(&srv->loop, &sv->tick_op, &sv->tick_ts,
	    srv->stopping ? 100 : POP3D_TICK_MS);
}

static void setup(struct pop3d_server *sv, const struct conf *c,
    const struct netsrv_listen *ls, size_t nls)
{
	char err[512];
	int rc;

	sv->conf = c;
	if ((sv->tls_ctx = tls_server_ctx_load(c, err, sizeof(err))) == NULL)
		log_warn("TLS not available (no STLS, pop3s refused): %s",
		    err);
	if (snprintf(sv->mail_root, sizeof(sv->mail_root), "%s/mail",
	    c->state_dir) >= (int)sizeof(sv->mail_root))
		fatalx("state_dir too long: %s", c->state_dir);
	(void)connlimit_open(&sv->cl, NULL);	/* one process: private */
	sv->srv.accept = conn_new;
	sv->srv.stop = begin_stop;
	sv->srv.ring_allow = sandbox_ring(SANDBOX_POP3D);
	sandbox_fs(SANDBOX_POP3D, c);	/* before the helper threads */
	netsrv_setup(&sv->srv, POP3D_RING_ENTRIES, POP3D_RECV_BUFS,
	    POP3D_RECV_BUFSZ, ls, nls);
	authfail_init(&sv->fails, AUTHFAIL_SLOTS, c->pop3_auth_fail_limit,
	    c->pop3_auth_fail_window);
	if ((rc = pop3d_workers_start(&sv->workers, &sv->srv.loop,
	    c->users_file, c->auth_cache_ttl, sv->mail_root)) < 0)
		fatalx("helper threads: %s", strerror(-rc));
	sv->tick_op.fn = on_tick;
	ev_timeout(&sv->srv.loop, &sv->tick_op, &sv->tick_ts, POP3D_TICK_MS);
	sandbox_syscalls(SANDBOX_POP3D, c);	/* set-up is over */
}

int pop3d_server_run(const struct conf *c, const struct netsrv_listen *ls,
    size_t nls)
{
	static struct pop3d_server server;
	struct pop3d_server *sv = &server;
	int rc;

	setup(sv, c, ls, nls);
	log_info("ready: %zu listener(s), up to %u connections (%u per "
	    "client address)", nls, c->pop3_max_connections,
	    c->pop3_client_connection_limit);
	rc = ev_run(&sv->srv.loop);
	pop3d_workers_stop(&sv->workers);
	authfail_free(&sv->fails);
	tls_server_ctx_free(sv->tls_ctx);
	connlimit_close(&sv->cl);
	if (rc < 0) {
		log_warn("event loop: %s", strerror(-rc));
		return 1;
	}
	log_info("stopped");
	return 0;
}
