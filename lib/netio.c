/* netio: connection I/O on the ring; see netio.h.  Two ops per
 * connection, both embedded here: the multishot recv (armed while nothing
 * pauses input) and at most one send, whose bytes live in `wire` while
 * `out` collects the next batch.  Closing is: flush, cancel the recv,
 * wait for both ops to complete, close(2), then cb->done -- never earlier,
 * because the kernel may still write into memory the ops point at. */
#include "lib/netio.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NETIO_HOLD_PIECE (16 * 1024)

static void on_recv(struct ev_op *op, int res, unsigned flags);
static void on_send(struct ev_op *op, int res, unsigned flags);

static size_t pending_out(const struct netio *io)
{
	return io->out.len + (io->wire.len - io->wire_off);
}

size_t netio_backlog(const struct netio *io)
{
	return pending_out(io);
}

uint64_t netio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int want_recv(const struct netio *io)
{
	return io->pause == 0 && !io->closing && !io->shut && !io->eof;
}

/* Ask the kernel to end the multishot recv (once per arming). */
static void cancel_recv(struct netio *io)
{
	if (!io->recv_armed || io->recv_cancel)
		return;
	io->recv_cancel = 1;
	ev_cancel_op(io->sys->loop, &io->recv_op);
}

static void arm_recv(struct netio *io)
{
	if (io->recv_armed || !want_recv(io))
		return;
	io->recv_op.fn = on_recv;
	ev_recv_multishot(io->sys->loop, &io->recv_op, io->fd, io->sys->br);
	io->recv_armed = 1;
}

void netio_start(struct netio *io, struct netio_sys *sys, int fd,
    const struct netio_cb *cb)
{
	memset(io, 0, sizeof(*io));
	io->sys = sys;
	io->cb = cb;
	io->fd = fd;
	buf_init(&io->out, 0);
	buf_init(&io->wire, 0);
	buf_init(&io->hold, 0);
	io->send_op.fn = on_send;
	arm_recv(io);
}

/* Every op done and the socket shut: close it and let the owner free. */
static void maybe_finish(struct netio *io)
{
	if (!io->shut || io->recv_armed || io->send_busy || io->dirty ||
	    io->finished)
		return;
	io->finished = 1;
	close(io->fd);
	io->fd = -1;
	if (io->layer != NULL)
		io->layer->free(io);
	buf_free(&io->out);
	buf_free(&io->wire);
	buf_free(&io->hold);
	io->cb->done(io);	/* may free io: nothing after this */
}

/* Stop all traffic; completions still to come are awaited. */
static void shut(struct netio *io)
{
	if (io->shut)
		return;
	io->shut = 1;
	if (io->send_busy)
		ev_cancel_fd(io->sys->loop, io->fd);
	else
		cancel_recv(io);
}

/* Closing, and the last reply has left (or never can): shut. */
static void maybe_shut(struct netio *io)
{
	if (io->closing && !io->send_busy &&
	    (pending_out(io) == 0 || io->broken))
		shut(io);
}

static void mark_dirty(struct netio *io)
{
	if (io->dirty)
		return;
	io->dirty = 1;
	io->dirty_next = io->sys->dirty;
	io->sys->dirty = io;
}

void netio_write(struct netio *io, const char *p, size_t n)
{
	int rc;

	if (io->shut || io->broken || n == 0)
		return;
	if (io->layer != NULL)
		rc = io->layer->encode(io, p, n, &io->out);
	else
		rc = buf_append(&io->out, p, n);
	if (rc < 0) {
		netio_abort(io);
		return;
	}
	mark_dirty(io);
	if (pending_out(io) > NETIO_OUT_HIGH)
		netio_pause(io, NETIO_PAUSE_OUTPUT, 1);
}

/* Start a send if none is in flight: the rest of `wire`, else `out`. */
static void send_next(struct netio *io)
{
	size_t n;

	if (io->send_busy || io->shut || io->broken)
		return;
	if ((n = buf_flip(&io->wire, &io->wire_off, &io->out)) == 0) {
		buf_free(&io->wire);	/* idle: hold no buffers */
		buf_free(&io->out);
		io->wire_off = 0;
		return;
	}
	io->send_busy = 1;
	ev_send(io->sys->loop, &io->send_op, io->fd,
	    io->wire.data + io->wire_off, n);
}

void netio_flush_all(struct netio_sys *sys)
{
	while (sys->dirty != NULL) {
		struct netio *io = sys->dirty;

		sys->dirty = io->dirty_next;
		io->dirty = 0;
		io->dirty_next = NULL;
		send_next(io);
		maybe_shut(io);
		maybe_finish(io);
	}
}

static void deliver_held(struct netio *io);

static void on_send(struct ev_op *op, int res, unsigned flags)
{
	struct netio *io = container_of(op, struct netio, send_op);

	(void)flags;
	io->send_busy = 0;
	if (res <= 0) {
		if (!io->broken && !io->shut) {
			io->broken = 1;
			io->cb->eof(io, res == 0 ? -EPIPE : res);
		}
		shut(io);
	} else {
		io->wire_off += (size_t)res;
		send_next(io);
		if ((io->pause & NETIO_PAUSE_OUTPUT) &&
		    pending_out(io) < NETIO_OUT_LOW) {
			netio_pause(io, NETIO_PAUSE_OUTPUT, 0);
			deliver_held(io);
		}
		if (io->cb->drain != NULL && pending_out(io) < NETIO_OUT_LOW &&
		    !io->closing && !io->shut)
			io->cb->drain(io);
	}
	if (!io->send_busy)
		send_next(io);	/* what deliver_held just wrote */
	maybe_shut(io);
	maybe_finish(io);
}

/* Plaintext, or through the layer (TLS) first.  When the layer fails its
 * last words (a TLS alert) still leave before the close; nothing more is
 * decoded. */
static void deliver(struct netio *io, const char *p, size_t n)
{
	size_t before = io->out.len;
	int rc;

	if (io->layer == NULL) {
		io->cb->input(io, p, n);
		return;
	}
	if (io->layer_done)
		return;
	rc = io->layer->decode(io, p, n, &io->out);
	if (io->out.len != before)
		mark_dirty(io);		/* handshake records, an alert */
	if (rc < 0) {
		io->layer_done = 1;
		io->eof = 1;		/* no further reads */
		if (!io->shut && !io->closing)
			io->cb->eof(io, rc == -EPIPE ? 0 : -EPROTO);
	}
}

/* Input that arrived after the output pause was set (the multishot recv
 * ends only after the cancel is processed): handed up a piece at a time,
 * stopping as soon as the replies pile up again. */
static void deliver_held(struct netio *io)
{
	size_t off = 0;

	while (off < io->hold.len && !(io->pause & NETIO_PAUSE_OUTPUT) &&
	    !io->closing && !io->shut && !io->broken) {
		size_t k = io->hold.len - off;

		if (k > NETIO_HOLD_PIECE)
			k = NETIO_HOLD_PIECE;
		deliver(io, io->hold.data + off, k);
		off += k;
	}
	buf_consume(&io->hold, off);
	if (io->hold.len == 0 || io->closing || io->shut)
		buf_free(&io->hold);
	if (io->hold.len == 0 && io->eof_held && !io->closing && !io->shut) {
		io->eof_held = 0;	/* the EOF came after all of it */
		io->cb->eof(io, 0);
	}
}

static void on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct netio *io = container_of(op, struct netio, recv_op);

	if (!(flags & IORING_CQE_F_MORE)) {
		io->recv_armed = 0;
		io->recv_cancel = 0;
	}
	if (res > 0) {
		char *p = ev_bufring_data(io->sys->br, flags);

		if (p == NULL)
			panic("recv completed without a buffer");
		if (io->closing || io->shut || io->broken) {
			/* the session takes no more input */
		} else if ((io->pause & NETIO_PAUSE_OUTPUT) ||
		    io->hold.len > 0) {
			if (buf_append(&io->hold, p, (size_t)res) < 0)
				panic("input hold buffer");
			deliver_held(io);
		} else {
			deliver(io, p, (size_t)res);
		}
		ev_bufring_put(io->sys->br, flags);
	} else if (res != -ENOBUFS && res != -ECANCELED && !io->shut &&
	    !io->closing && !io->broken && !io->eof) {
		/* 0: the client closed its side; else the connection failed. */
		io->eof = 1;	/* no further reads */
		if (res < 0)
			io->broken = 1;
		if (res == 0 && io->hold.len > 0)
			io->eof_held = 1;	/* after the held input */
		else
			io->cb->eof(io, res);
	} else {
		ev_bufring_put(io->sys->br, flags);
	}
	maybe_shut(io);
	arm_recv(io);
	maybe_finish(io);
}

void netio_pause(struct netio *io, unsigned reason, int on)
{
	if (on)
		io->pause |= reason;
	else
		io->pause &= ~reason;
	if (io->pause != 0)
		cancel_recv(io);
	else
		arm_recv(io);
}

void netio_close(struct netio *io)
{
	if (io->closing && io->close_deadline != 0)
		return;
	io->closing = 1;
	io->close_deadline = netio_now_ms() + NETIO_CLOSE_GRACE_MS;
	if (io->broken) {
		shut(io);
		/* Called outside a completion, nothing else would finish it:
		 * netio_flush_all does. */
		mark_dirty(io);
		return;
	}
	cancel_recv(io);	/* the session takes no more input */
	if (io->layer != NULL && !io->layer_done) {
		io->layer_done = 1;
		io->layer->close(io, &io->out);
	}
	mark_dirty(io);		/* flush, then shut (netio_flush_all) */
}

void netio_abort(struct netio *io)
{
	io->closing = 1;
	io->broken = 1;
	if (io->close_deadline == 0)
		io->close_deadline = netio_now_ms();
	if (!io->shut) {
		io->shut = 1;
		ev_cancel_fd(io->sys->loop, io->fd);
	}
	mark_dirty(io);		/* finished from netio_flush_all */
}

void netio_peer(int fd, char *ip, size_t iplen, unsigned *port,
    struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	const void *a = NULL;
	unsigned p = 0;
	int af = AF_UNSPEC;

	snprintf(ip, iplen, "unknown");
	memset(ss, 0, sizeof(*ss));
	if (getpeername(fd, (struct sockaddr *)ss, &len) < 0) {
		ss->ss_family = AF_UNSPEC;
	} else if (ss->ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		af = AF_INET, a = &in->sin_addr;
		p = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		af = AF_INET6, a = &in6->sin6_addr;
		p = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			af = AF_INET, a = &in6->sin6_addr.s6_addr[12];
	}
	if (a != NULL)
		inet_ntop(af, a, ip, (socklen_t)iplen);
	if (port != NULL)
		*port = p;
}

int netio_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr)
		    >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		    (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

size_t netio_bind_all(const struct conf_listen *v, size_t n, int *fds,
    size_t max)
{
	size_t k = 0;
	int one = 1;

	for (size_t i = 0; i < n && k < max; i++) {
		const struct conf_listen *l = &v[i];
		int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0);

		if (fd < 0)
			fatal("socket for %s", l->text);
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (l->addr.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
			fatal("bind %s", l->text);
		if (listen(fd, 4096) < 0)
			fatal("listen %s", l->text);
		fds[k++] = fd;
	}
	return k;
}
