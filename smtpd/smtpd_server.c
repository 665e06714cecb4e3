/* smtpd_server: the worker's event loop; see smtpd_server.h.  A
 * connection is one allocation (struct smtpd_conn: I/O state + session)
 * on lib/netsrv's list, which the periodic tick walks to enforce
 * deadlines (netsrv also owns the ring, listeners and signals).  It is
 * freed only from netio's done callback, i.e. once no op on the ring
 * refers to it.  Nothing here blocks: the only syscalls outside the ring
 * are getpeername/setsockopt on accept, close(2) and smtpd_local's stat
 * of users_file and aliases_file (once a second at most). */
#include "smtpd/smtpd_server.h"
#include "smtpd/smtpd_authck.h"
#include "smtpd/smtpd_io.h"
#include "smtpd/smtpd_local.h"
#include "smtpd/smtpd_policy.h"
#include "smtpd/smtpd_proto.h"
#include "smtpd/smtpd_qclient.h"
#include "smtpd/smtpd_reply.h"
#include "lib/connlimit.h"
#include "lib/ev.h"
#include "lib/fds.h"
#include "lib/netio_tls.h"
#include "lib/netsrv.h"
#include "lib/tls_server.h"
#include "lib/log.h"
#include "lib/sandbox.h"
#include "lib/mem.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct smtpd_server;

struct smtpd_conn {
	struct netio io;
	struct smtpd_session s;
	struct smtpd_server *sv;
	struct netsrv_node node;	/* in sv->srv.conns */
	struct connlimit_ticket cl;	/* counted in sv->cl */
	int refuse;			/* smtps: the 421 once TLS is up */
};

struct smtpd_server {
	struct netsrv srv;		/* ring, listeners, connections */
	const struct conf *conf;
	struct smtpd_qclient qc;
	struct smtpd_local local;	/* users and aliases tables */
	struct smtpd_authck authck;	/* AUTH's password checks */
	void *tls_ctx;			/* NULL: no STARTTLS, smtps refused */
	struct connlimit cl;		/* shared by all workers */
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
	int forced;
	uint64_t stop_deadline;
};

static struct smtpd_server *server_of(struct netsrv *srv)
{
	return container_of(srv, struct smtpd_server, srv);
}

static void conn_input(struct netio *io, const char *p, size_t n)
{
	smtpd_proto_input(&container_of(io, struct smtpd_conn, io)->s, p, n);
}

static void conn_eof(struct netio *io, int err)
{
	struct smtpd_conn *c = container_of(io, struct smtpd_conn, io);

	netio_tls_log_failure(io, err, c->s.client_ip);
	smtpd_proto_eof(&c->s, err != 0);
}

static void conn_secured(struct netio *io)
{
	struct smtpd_conn *c = container_of(io, struct smtpd_conn, io);

	if (c->refuse != 0) {	/* smtps over a limit: its 421, in TLS */
		smtpd_proto_refuse(&c->s, c->refuse);
		return;
	}
	netio_tls_log_up(io, c->s.client_ip);
}

static void conn_done(struct netio *io)
{
	struct smtpd_conn *c = container_of(io, struct smtpd_conn, io);
	struct smtpd_server *sv = c->sv;

	connlimit_leave(&sv->cl, &c->cl);
	smtpd_proto_free(&c->s);
	netsrv_conn_del(&sv->srv, &c->node);
	free(c);
}

static const struct netio_cb conn_cb = {
	.input = conn_input,
	.eof = conn_eof,
	.done = conn_done,
	.secured = conn_secured,
};

/* Count the client (lib/connlimit, across workers); 0 to admit it, or
 * the 421 that replaces its greeting. */
static int conn_limit(struct smtpd_server *sv, struct smtpd_conn *c,
    const struct sockaddr_storage *ss)
{
	const struct conf *cf = sv->conf;
	/* mynetworks are the site's own relaying clients (and the
	 * benchmarks' load generator): counted, but no per-address limit,
	 * as Postfix's smtpd_client_event_limit_exceptions. */
	enum connlimit_verdict v = connlimit_enter(&sv->cl, &c->cl,
	    ss->ss_family == AF_UNSPEC ? NULL : (const struct sockaddr *)ss,
	    c->s.trusted ? 0 : cf->smtpd_client_connection_limit,
	    cf->smtpd_max_connections);

	if (v == CONNLIMIT_OK)
		return 0;
	connlimit_log_refusal(&sv->cl, v, c->s.client_ip,
	    v == CONNLIMIT_CLIENT ? cf->smtpd_client_connection_limit :
	    cf->smtpd_max_connections);
	return v == CONNLIMIT_CLIENT ? SMTPD_R_TOO_MANY_CONN_ADDR :
	    SMTPD_R_TOO_MANY_CONN;
}

static void conn_new(struct netsrv *srv, int fd, int tag)
{
	struct smtpd_server *sv = server_of(srv);
	struct sockaddr_storage ss;
	struct smtpd_conn *c;
	int one = 1, refuse;

	/* Refused ones still closing fill this worker: a flood. */
	if (srv->nconns / 2 >= sv->conf->smtpd_max_connections) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->sv = sv;
	smtpd_proto_init(&c->s, sv->conf);
	c->s.local = &sv->local;
	c->s.authck = &smtpd_authck_ops;
	c->s.authck_ctx = &sv->authck;
	netio_peer(fd, c->s.client_ip, sizeof(c->s.client_ip),
	    &c->s.client_port, &ss);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->s.trusted = ss.ss_family != AF_UNSPEC &&
	    smtpd_policy_trusted(sv->conf, (struct sockaddr *)&ss);
	c->s.loopback = netio_is_loopback(&ss);
	refuse = conn_limit(sv, c, &ss);
	if (srv->stopping && refuse == 0)
		refuse = SMTPD_R_SHUTDOWN;	/* accepted as the stop began */
	c->s.port = (enum smtpd_port)tag;
	c->s.io = sv->tls_ctx != NULL ? &smtpd_io_tls_ops :
	    &smtpd_io_session_ops;
	c->s.io_ctx = &c->io;
	c->s.sink = &smtpd_qclient_ops;
	c->s.sink_ctx = &sv->qc;
	netsrv_conn_add(srv, &c->node);
	netio_start(&c->io, &srv->ios, fd, &conn_cb);
	if (c->s.port == SMTPD_PORT_SMTPS) {
		/* Implicit TLS (RFC 8314): the greeting waits for it. */
		if (netio_tls_implicit(&c->io, sv->tls_ctx,
		    c->s.client_ip) < 0) {
			c->s.state = SMTPD_S_CLOSED;
			return;
		}
		c->s.tls = 1;
	}
	if (refuse != 0 && c->s.tls) {
		/* The 421 waits for the handshake (conn_secured), briefly. */
		c->refuse = refuse;
		c->s.refused = 1;
		c->s.deadline = smtpd_now_ms() + SMTPD_REFUSE_TLS_MS;
	} else if (refuse != 0) {
		smtpd_proto_refuse(&c->s, refuse);
	} else {
		smtpd_proto_start(&c->s);
	}
}

/* Close what is idle, let transactions finish, stop listening. */
static void begin_stop(struct netsrv *srv)
{
	struct smtpd_server *sv = server_of(srv);
	struct netsrv_node *n, *next;

	if (!netsrv_stop_accepting(srv)) {
		sv->stop_deadline = 0;	/* a second signal: now */
		return;
	}
	sv->stop_deadline = smtpd_now_ms() + SMTPD_STOP_GRACE_MS;
	log_info("stopping (%u connections)", srv->nconns);
	for (n = srv->conns; n != NULL; n = next) {
		next = n->next;
		smtpd_proto_shutdown(&container_of(n, struct smtpd_conn,
		    node)->s, 0);
	}
}

/* Every second: deadlines, stuck closes, the end of the grace period. */
static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_server *sv = container_of(op, struct smtpd_server,
	    tick_op);
	struct netsrv *srv = &sv->srv;
	uint64_t now = smtpd_now_ms();
	int force = srv->stopping && !sv->forced && now >= sv->stop_deadline;
	struct netsrv_node *n, *next;

	(void)res;
	(void)flags;
	if (force) {
		sv->forced = 1;
		log_info("grace period over: closing %u connections",
		    srv->nconns);
	}
	for (n = srv->conns; n != NULL; n = next) {
		struct smtpd_conn *c = container_of(n, struct smtpd_conn, node);

		next = n->next;
		if (force)
			smtpd_proto_shutdown(&c->s, 1);
		else if (c->s.deadline != 0 && now >= c->s.deadline)
			smtpd_proto_timeout(&c->s);
		if (c->io.closing && !c->io.shut &&
		    now >= c->io.close_deadline)
			netio_abort(&c->io);
	}
	netsrv_resume_accepting(srv);
	ev_timeout(&srv->loop, &sv->tick_op, &sv->tick_ts,
	    srv->stopping ? 100 : SMTPD_TICK_MS);
}

/* After netio's flush: the queue-writer records of this turn. */
static void before_sleep(struct netsrv *srv)
{
	smtpd_qclient_flush(&server_of(srv)->qc);
}

static void setup(struct smtpd_server *sv, const struct conf *c,
    const struct netsrv_listen *ls, size_t nls)
{
	char err[512];
	int rc;

	sv->conf = c;
	smtpd_local_init(&sv->local, c);
	if ((sv->tls_ctx = tls_server_ctx_load(c, err, sizeof(err))) == NULL)
		log_warn("TLS not available (no STARTTLS, smtps refused): %s",
		    err);
	sandbox_fs(SANDBOX_SMTPD, c);	/* before the helper threads */
	smtpd_io_tls_ctx = sv->tls_ctx;
	if ((rc = connlimit_open(&sv->cl, MTA_FD_ROLE_CONNLIMIT)) < 0 &&
	    rc != -ENOENT)
		log_warn("shared connection table: %s (limits count this "
		    "worker only)", strerror(-rc));
	sv->srv.accept = conn_new;
	sv->srv.stop = begin_stop;
	sv->srv.before_sleep = before_sleep;
	sv->srv.ring_allow = sandbox_ring(SANDBOX_SMTPD);
	netsrv_setup(&sv->srv, SMTPD_RING_ENTRIES, SMTPD_RECV_BUFS,
	    SMTPD_RECV_BUFSZ, ls, nls);
	if (smtpd_qclient_init(&sv->qc, &sv->srv.loop, c->state_dir) < 0)
		fatalx("state_dir too long for a socket path: %s",
		    c->state_dir);
	if ((rc = smtpd_authck_start(&sv->authck, &sv->srv.loop, c)) < 0)
		fatalx("AUTH helper threads: %s", strerror(-rc));
	sv->tick_op.fn = on_tick;
	ev_timeout(&sv->srv.loop, &sv->tick_op, &sv->tick_ts, SMTPD_TICK_MS);
	smtpd_qclient_start(&sv->qc);
	sandbox_syscalls(SANDBOX_SMTPD, c);	/* set-up is over */
}

int smtpd_server_run(const struct conf *c, const struct netsrv_listen *ls,
    size_t nls)
{
	static struct smtpd_server server;
	struct smtpd_server *sv = &server;
	int rc;

	setup(sv, c, ls, nls);
	log_info("ready: %zu listener(s), up to %u connections (all workers, "
	    "%u per client address)", nls, c->smtpd_max_connections,
	    c->smtpd_client_connection_limit);
	rc = ev_run(&sv->srv.loop);
	smtpd_qclient_stop(&sv->qc);
	smtpd_authck_stop(&sv->authck);
	smtpd_local_free(&sv->local);
	tls_server_ctx_free(sv->tls_ctx);
	connlimit_close(&sv->cl);
	if (rc < 0) {
		log_warn("event loop: %s", strerror(-rc));
		return 1;
	}
	log_info("stopped");
	return 0;
}
