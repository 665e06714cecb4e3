/* remote_conn: outbound connection I/O on the ring; see remote_conn.h.
 * Up to three ops per connection, all embedded here: connect, recv (one
 * shot, buffer selected from the process's ring when data arrives) and
 * send.  Closing marks the connection shut, cancels what is in flight and
 * lets remote_conn_flush_all finish it once nothing is. */
#include "deliver/remote_conn.h"
#include "deliver/remote_tls.h"
#include "lib/tls.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void on_connect(struct ev_op *op, int res, unsigned flags);
static void on_recv(struct ev_op *op, int res, unsigned flags);
static void on_send(struct ev_op *op, int res, unsigned flags);

static void mark_dirty(struct remote_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	c->dirty_next = c->rm->dirty;
	c->rm->dirty = c;
}

int remote_conn_open(struct remote_conn *c, struct remote *rm,
    const struct remote_conn_cb *cb, const struct sockaddr *sa,
    socklen_t salen)
{
	int fd;

	memset(c, 0, sizeof(*c));
	c->rm = rm;
	c->cb = cb;
	c->fd = -1;
	if (salen > sizeof(c->sa))
		return -EINVAL;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -errno;
	c->fd = fd;
	memcpy(&c->sa, sa, salen);
	c->salen = salen;
	buf_init(&c->out, 0);
	buf_init(&c->wire, 0);
	c->conn_op.fn = on_connect;
	c->recv_op.fn = on_recv;
	c->send_op.fn = on_send;
	c->conn_busy = 1;
	ev_connect(&rm->loop, &c->conn_op, fd, (struct sockaddr *)&c->sa,
	    salen);
	return 0;
}

static void arm_recv(struct remote_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->recv_busy || c->shut || c->eof || !c->connected)
		return;
	sqe = ev_sqe(&c->rm->loop, &c->recv_op);
	io_uring_prep_recv(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16)c->rm->br.bgid;
	c->recv_busy = 1;
}

/* The server is gone or the connection failed: tell the owner once. */
static void lost(struct remote_conn *c, int err)
{
	if (c->eof || c->shut)
		return;
	c->eof = 1;
	if (c->cb->eof != NULL)
		c->cb->eof(c, err);
}

static void on_connect(struct ev_op *op, int res, unsigned flags)
{
	struct remote_conn *c = container_of(op, struct remote_conn, conn_op);

	(void)flags;
	c->conn_busy = 0;
	if (c->shut) {
		mark_dirty(c);
		return;
	}
	if (res == 0) {
		c->connected = 1;
		arm_recv(c);
	}
	if (c->cb->connected != NULL)
		c->cb->connected(c, res);
}

/* TLS input: plaintext up, handshake bytes out. */
static void conn_tls_input(struct remote_conn *c, const char *p, size_t n)
{
	struct buf *plain = &c->rm->plain;
	int was = c->handshaking, rc;

	buf_reset(plain);
	rc = tls_input(c->tls, p, n, plain, &c->out);
	if (c->out.len > 0)
		mark_dirty(c);
	if (was && rc != 0) {
		c->handshaking = 0;
		if (c->cb->tls_done != NULL)
			c->cb->tls_done(c, rc < 0 ? rc : 0);
		if (rc < 0 || c->shut)
			return;
	} else if (rc < 0) {
		lost(c, rc);
		return;
	}
	if (plain->len > 0 && !c->shut && !c->eof && c->cb->input != NULL)
		c->cb->input(c, plain->data, plain->len);
	buf_shrink(plain);
}

static void on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct remote_conn *c = container_of(op, struct remote_conn, recv_op);
	struct ev_bufring *br = &c->rm->br;

	c->recv_busy = 0;
	if (res > 0) {
		char *p = ev_bufring_data(br, flags);

		if (p == NULL)
			panic("recv completed without a buffer");
		if (!c->shut && !c->eof) {
			if (c->tls != NULL)
				conn_tls_input(c, p, (size_t)res);
			else if (c->cb->input != NULL)
				c->cb->input(c, p, (size_t)res);
		}
		ev_bufring_put(br, flags);
	} else {
		ev_bufring_put(br, flags);
		if (res != -ENOBUFS && res != -ECANCELED && res != -EINTR)
			lost(c, res == 0 ? 0 : res);
	}
	if (c->shut)
		mark_dirty(c);
	else
		arm_recv(c);
}

size_t remote_conn_pending(const struct remote_conn *c)
{
	return c->out.len + (c->wire.len - c->wire_off);
}

void remote_conn_write(struct remote_conn *c, const char *p, size_t n)
{
	int rc;

	if (c->shut || c->eof || n == 0)
		return;
	if (c->tls != NULL && !c->handshaking)
		rc = tls_write(c->tls, p, n, &c->out);
	else
		rc = buf_append(&c->out, p, n);
	if (rc < 0) {
		lost(c, -EPROTO);
		return;
	}
	mark_dirty(c);
}

int remote_conn_starttls(struct remote_conn *c, void *ctx, const char *sni,
    const char *verify_host)
{
	if (ctx == NULL || (c->tls = tls_new(ctx, 0, sni)) == NULL)
		return -ENOMEM;
	if (verify_host != NULL && remote_tls_verify(c->tls, verify_host) < 0)
		return -EINVAL;
	c->handshaking = 1;
	if (tls_start(c->tls, &c->out) < 0)
		return -EPROTO;
	mark_dirty(c);
	return 0;
}

static void send_next(struct remote_conn *c)
{
	size_t n;

	if (c->send_busy || c->shut || c->eof || !c->connected)
		return;
	if ((n = buf_flip(&c->wire, &c->wire_off, &c->out)) == 0) {
		buf_free(&c->wire);	/* idle: hold no buffers */
		buf_free(&c->out);
		c->wire_off = 0;
		return;
	}
	c->send_busy = 1;
	ev_send(&c->rm->loop, &c->send_op, c->fd, c->wire.data + c->wire_off,
	    n);
}

static void on_send(struct ev_op *op, int res, unsigned flags)
{
	struct remote_conn *c = container_of(op, struct remote_conn, send_op);

	(void)flags;
	c->send_busy = 0;
	if (c->shut) {
		mark_dirty(c);
		return;
	}
	if (res <= 0) {
		lost(c, res == 0 ? -EPIPE : res);
		return;
	}
	c->wire_off += (size_t)res;
	send_next(c);
	if (!c->eof && !c->shut && c->cb->writable != NULL)
		c->cb->writable(c);
}

void remote_conn_close(struct remote_conn *c)
{
	if (c->shut)
		return;
	c->shut = 1;
	if (c->conn_busy || c->recv_busy || c->send_busy)
		ev_cancel_fd(&c->rm->loop, c->fd);
	mark_dirty(c);
}

/* Shut and nothing in flight: close, free, tell the owner. */
static void finish(struct remote_conn *c)
{
	if (!c->shut || c->conn_busy || c->recv_busy || c->send_busy ||
	    c->finished)
		return;
	c->finished = 1;
	close(c->fd);
	c->fd = -1;
	buf_free(&c->out);
	buf_free(&c->wire);
	tls_free(c->tls);
	c->tls = NULL;
	c->cb->closed(c);	/* may free c */
}

void remote_conn_flush_all(struct remote *rm)
{
	while (rm->dirty != NULL) {
		struct remote_conn *c = rm->dirty;

		rm->dirty = c->dirty_next;
		c->dirty = 0;
		c->dirty_next = NULL;
		if (c->shut)
			finish(c);
		else
			send_next(c);
	}
}
