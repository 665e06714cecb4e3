/* sink_store: a message file written on the ring; see sink_store.h.  The
 * steps are chained by completions (not linked SQEs) so that a short write
 * is simply continued; the job's op is its only SQE in flight.  The file
 * is written as <n>.tmp and renamed to <n>.eml only once it is whole, so
 * whoever watches the directory never reads a partial message. */
#include "bench/sink_store.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

enum { STORE_OPEN, STORE_WRITE, STORE_FSYNC, STORE_CLOSE, STORE_RENAME };

static void on_step(struct ev_op *op, int res, unsigned flags);

static void finish(struct sink_store *st, int err)
{
	buf_free(&st->data);
	st->done(st, err);	/* may free st */
}

static void submit_close(struct sink_store *st)
{
	struct io_uring_sqe *sqe = ev_sqe(st->loop, &st->op);

	st->step = STORE_CLOSE;
	io_uring_prep_close(sqe, st->fd);
}

static void submit_write(struct sink_store *st)
{
	st->step = STORE_WRITE;
	ev_write(st->loop, &st->op, st->fd, st->data.data + st->off,
	    st->data.len - st->off, (long long)st->off);
}

/* Write, then fsync: a failed write skips to the close. */
static void after_write(struct sink_store *st, int res)
{
	if (res <= 0) {
		st->err = res == 0 ? -EIO : res;
		submit_close(st);
		return;
	}
	st->off += (size_t)res;
	if (st->off < st->data.len) {
		submit_write(st);
		return;
	}
	st->step = STORE_FSYNC;
	ev_fsync(st->loop, &st->op, st->fd, 0);
}

static void on_step(struct ev_op *op, int res, unsigned flags)
{
	struct sink_store *st = container_of(op, struct sink_store, op);

	(void)flags;
	switch (st->step) {
	case STORE_OPEN:
		if (res < 0) {
			finish(st, res);
		} else {
			st->fd = res;
			if (st->data.len == 0) {
				st->step = STORE_FSYNC;
				ev_fsync(st->loop, &st->op, st->fd, 0);
			} else {
				submit_write(st);
			}
		}
		return;
	case STORE_WRITE:
		after_write(st, res);
		return;
	case STORE_FSYNC:
		if (res < 0)
			st->err = res;
		submit_close(st);
		return;
	case STORE_CLOSE:
		if (res < 0 && st->err == 0)
			st->err = res;
		if (st->err == 0) {
			st->step = STORE_RENAME;
			io_uring_prep_renameat(ev_sqe(st->loop, &st->op),
			    AT_FDCWD, st->tmp, AT_FDCWD, st->path, 0);
			return;
		}
		finish(st, st->err);
		return;
	default:
		finish(st, res < 0 ? res : 0);
		return;
	}
}

void sink_store_start(struct sink_store *st, struct ev_loop *loop,
    const char *dir, uint64_t n, struct buf *msg, sink_store_fn done)
{
	struct io_uring_sqe *sqe;

	st->loop = loop;
	st->data = *msg;
	buf_init(msg, 0);
	st->off = 0;
	st->fd = -1;
	st->err = 0;
	st->done = done;
	st->op.fn = on_step;
	st->step = STORE_OPEN;
	snprintf(st->path, sizeof(st->path), "%s/%llu.eml", dir,
	    (unsigned long long)n);
	snprintf(st->tmp, sizeof(st->tmp), "%s/%llu.tmp", dir,
	    (unsigned long long)n);
	sqe = ev_sqe(loop, &st->op);
	io_uring_prep_openat(sqe, AT_FDCWD, st->tmp,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}
