/* smtpd_server: the worker's event loop; see smtpd_server.h.  A
 * connection is one allocation (struct smtpd_conn: I/O state + session)
 * on lib/netsrv's list, which the periodic tick walks to enforce
 * deadlines (netsrv also owns the ring, listeners and signals).  It is
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
#include "lib/netsrv.h"
#include "lib/log.h"
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
};

struct smtpd_server {
	struct netsrv srv;		/* ring, listeners, connections */
	const struct conf *conf;
	struct smtpd_qclient qc;
	struct smtpd_local local;	/* users and aliases tables */
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

	smtpd_proto_eof(&c->s, err != 0);
}

static void conn_done(struct netio *io)
{
	struct smtpd_conn *c = container_of(io, struct smtpd_conn, io);
	struct smtpd_server *sv = c->sv;

	smtpd_proto_free(&c->s);
	netsrv_conn_del(&sv->srv, &c->node);
	free(c);
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

static void conn_new(struct netsrv *srv, int fd)
{
	struct smtpd_server *sv = server_of(srv);
	struct sockaddr_storage ss;
	struct smtpd_conn *c;
	int one = 1;

	if (srv->nconns >= sv->conf->smtpd_max_connections) {
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
	netsrv_conn_add(srv, &c->node);
	netio_start(&c->io, &srv->ios, fd, &conn_cb);
	smtpd_proto_start(&c->s);
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
    const int *fds, size_t nfds)
{
	sv->conf = c;
	smtpd_local_init(&sv->local, c);
	sv->srv.accept = conn_new;
	sv->srv.stop = begin_stop;
	sv->srv.before_sleep = before_sleep;
	netsrv_setup(&sv->srv, SMTPD_RING_ENTRIES, SMTPD_RECV_BUFS,
	    SMTPD_RECV_BUFSZ, fds, nfds);
	if (smtpd_qclient_init(&sv->qc, &sv->srv.loop, c->state_dir) < 0)
		fatalx("state_dir too long for a socket path: %s",
		    c->state_dir);
	sv->tick_op.fn = on_tick;
	ev_timeout(&sv->srv.loop, &sv->tick_op, &sv->tick_ts, SMTPD_TICK_MS);
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
	rc = ev_run(&sv->srv.loop);
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
