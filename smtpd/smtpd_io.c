/* smtpd_io: connection I/O on the ring; see smtpd_io.h.  Two ops per
 * connection, both embedded here: the multishot recv (armed while nothing
 * pauses input) and at most one send, whose bytes live in `wire` while
 * `out` collects the next batch.  Closing is: flush, cancel the recv,
 * wait for both ops to complete, close(2), then cb->done -- never earlier,
 * because the kernel may still write into memory the ops point at. */
#include "smtpd/smtpd_io.h"
#include "smtpd/smtpd_proto.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define SMTPD_IO_OUT_HIGH (256 * 1024)	/* stop reading a non-reader */
#define SMTPD_IO_OUT_LOW (64 * 1024)
#define SMTPD_IO_HOLD_PIECE (16 * 1024)

static void on_recv(struct ev_op *op, int res, unsigned flags);
static void on_send(struct ev_op *op, int res, unsigned flags);

static size_t pending_out(const struct smtpd_io *io)
{
	return io->out.len + (io->wire.len - io->wire_off);
}

static int want_recv(const struct smtpd_io *io)
{
	return io->pause == 0 && !io->closing && !io->shut && !io->eof;
}

/* Ask the kernel to end the multishot recv (once per arming). */
static void cancel_recv(struct smtpd_io *io)
{
	if (!io->recv_armed || io->recv_cancel)
		return;
	io->recv_cancel = 1;
	ev_cancel_op(io->sys->loop, &io->recv_op);
}

static void arm_recv(struct smtpd_io *io)
{
	if (io->recv_armed || !want_recv(io))
		return;
	io->recv_op.fn = on_recv;
	ev_recv_multishot(io->sys->loop, &io->recv_op, io->fd, io->sys->br);
	io->recv_armed = 1;
}

void smtpd_io_start(struct smtpd_io *io, struct smtpd_iosys *sys, int fd,
    const struct smtpd_io_cb *cb)
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
static void maybe_finish(struct smtpd_io *io)
{
	if (!io->shut || io->recv_armed || io->send_busy || io->dirty ||
	    io->finished)
		return;
	io->finished = 1;
	close(io->fd);
	io->fd = -1;
	buf_free(&io->out);
	buf_free(&io->wire);
	buf_free(&io->hold);
	io->cb->done(io);	/* may free io: nothing after this */
}

/* Stop all traffic; completions still to come are awaited. */
static void shut(struct smtpd_io *io)
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
static void maybe_shut(struct smtpd_io *io)
{
	if (io->closing && !io->send_busy &&
	    (pending_out(io) == 0 || io->broken))
		shut(io);
}

static void mark_dirty(struct smtpd_io *io)
{
	if (io->dirty)
		return;
	io->dirty = 1;
	io->dirty_next = io->sys->dirty;
	io->sys->dirty = io;
}

void smtpd_io_write(struct smtpd_io *io, const char *p, size_t n)
{
	int rc;

	if (io->shut || io->broken || n == 0)
		return;
	if (io->layer != NULL)
		rc = io->layer->encode(io, p, n, &io->out);
	else
		rc = buf_append(&io->out, p, n);
	if (rc < 0) {
		smtpd_io_abort(io);
		return;
	}
	mark_dirty(io);
	if (pending_out(io) > SMTPD_IO_OUT_HIGH)
		smtpd_io_pause(io, SMTPD_IO_PAUSE_OUTPUT, 1);
}

/* Start a send if none is in flight: the rest of `wire`, else `out`. */
static void send_next(struct smtpd_io *io)
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

void smtpd_io_flush_all(struct smtpd_iosys *sys)
{
	while (sys->dirty != NULL) {
		struct smtpd_io *io = sys->dirty;

		sys->dirty = io->dirty_next;
		io->dirty = 0;
		io->dirty_next = NULL;
		send_next(io);
		maybe_shut(io);
		maybe_finish(io);
	}
}

static void deliver_held(struct smtpd_io *io);

static void on_send(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_io *io = container_of(op, struct smtpd_io, send_op);

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
		if ((io->pause & SMTPD_IO_PAUSE_OUTPUT) &&
		    pending_out(io) < SMTPD_IO_OUT_LOW) {
			smtpd_io_pause(io, SMTPD_IO_PAUSE_OUTPUT, 0);
			deliver_held(io);
		}
	}
	if (!io->send_busy)
		send_next(io);	/* what deliver_held just wrote */
	maybe_shut(io);
	maybe_finish(io);
}

/* Plaintext, or through the layer (TLS) first. */
static void deliver(struct smtpd_io *io, const char *p, size_t n)
{
	if (io->layer == NULL) {
		io->cb->input(io, p, n);
		return;
	}
	if (io->layer->decode(io, p, n) < 0 && !io->shut) {
		io->broken = 1;
		io->cb->eof(io, -EPROTO);
	}
}

/* Input that arrived after the output pause was set (the multishot recv
 * ends only after the cancel is processed): handed up a piece at a time,
 * stopping as soon as the replies pile up again. */
static void deliver_held(struct smtpd_io *io)
{
	size_t off = 0;

	while (off < io->hold.len && !(io->pause & SMTPD_IO_PAUSE_OUTPUT) &&
	    !io->closing && !io->shut && !io->broken) {
		size_t k = io->hold.len - off;

		if (k > SMTPD_IO_HOLD_PIECE)
			k = SMTPD_IO_HOLD_PIECE;
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
	struct smtpd_io *io = container_of(op, struct smtpd_io, recv_op);

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
		} else if ((io->pause & SMTPD_IO_PAUSE_OUTPUT) ||
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

void smtpd_io_pause(struct smtpd_io *io, unsigned reason, int on)
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

void smtpd_io_close(struct smtpd_io *io)
{
	if (io->closing && io->close_deadline != 0)
		return;
	io->closing = 1;
	io->close_deadline = smtpd_now_ms() + SMTPD_IO_CLOSE_GRACE_MS;
	if (io->broken) {
		shut(io);
		/* Called outside a completion, nothing else would finish it:
		 * smtpd_io_flush_all does. */
		mark_dirty(io);
		return;
	}
	cancel_recv(io);	/* the session takes no more input */
	mark_dirty(io);		/* flush, then shut (smtpd_io_flush_all) */
}

void smtpd_io_abort(struct smtpd_io *io)
{
	io->closing = 1;
	io->broken = 1;
	if (io->close_deadline == 0)
		io->close_deadline = smtpd_now_ms();
	if (!io->shut) {
		io->shut = 1;
		ev_cancel_fd(io->sys->loop, io->fd);
	}
	mark_dirty(io);		/* finished from smtpd_io_flush_all */
}

static void session_write(void *ctx, const char *p, size_t n)
{
	smtpd_io_write(ctx, p, n);
}

static void session_close(void *ctx)
{
	smtpd_io_close(ctx);
}

static void session_pause(void *ctx, int on)
{
	smtpd_io_pause(ctx, SMTPD_IO_PAUSE_PROTO, on);
}

const struct smtpd_io_ops smtpd_io_session_ops = {
	.write = session_write,
	.close = session_close,
	.pause = session_pause,
};
