/* qwriter_publish: after the journal sync, each queue file is written over
 * a file of spool/pool/ (qwriter_pool.c) or, when the pool is empty, to
 * spool/tmp/QID (openat, then writev hard-linked to close) and renamed into
 * spool/incoming/XX/QID, all on the ring and without an fsync: the journal
 * holds the message until a checkpoint's syncfs.  Where the ring has
 * ftruncate (Linux 6.9), a pool file is overwritten in place and then cut
 * to its new length (writev, ftruncate, close, hard-linked) rather than
 * opened with O_TRUNC: freeing all its blocks only to allocate as many
 * again was the writer's largest kernel cost (measured: 0.17 -> 0.10 ms
 * of system CPU per message at c=50).  A file is renamed only
 * after it was written whole, so incoming/ never shows a partial file
 * (except after a crash, which recovery repairs from the journal).  A
 * failed publish is retried; its segment is kept until it succeeds. */
#include "queue/qwriter.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static void pub_pump(struct qw *qw);

static void pub_on_retry(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, retry_op);

	qw->retry_armed = 0;
	while (qw->retry_head != NULL) {
		struct qw_txn *t = qw->retry_head;

		qw->retry_head = t->next;
		qw->pub_retrying--;
		t->next = NULL;
		*qw->pubq_tail = t;
		qw->pubq_tail = &t->next;
		qw->pub_queued++;
	}
	pub_pump(qw);
}

static void pub_fail(struct qw_txn *t, int err)
{
	struct qw *qw = t->qw;

	if (qw->pub_retrying == 0)
		log_warn("%s: cannot publish the queue file: %s; will retry",
		    t->name, strerror(-err));
	/* Best effort; a leftover is removed by the retry's O_TRUNC or by
	 * recovery.  A pool file stays in the pool. */
	if (t->pooled) {
		qw_pool_release(qw, t->pool_name);
		t->pooled = 0;
	} else {
		io_uring_prep_unlinkat(ev_sqe(&qw->loop, NULL), qw->tmp_fd,
		    t->name, 0);
	}
	qw->pub_inflight--;
	t->next = qw->retry_head;
	qw->retry_head = t;
	qw->pub_retrying++;
	if (!qw->retry_armed) {
		qw->retry_op.fn = pub_on_retry;
		qw->retry_armed = 1;
		ev_timeout(&qw->loop, &qw->retry_op, &qw->retry_ts,
		    QW_RETRY_MS);
	}
	pub_pump(qw);
}

static void pub_done(struct qw_txn *t)
{
	struct qw *qw = t->qw;

	t->seg->unpublished--;
	qw->pub_inflight--;
	if (t->pooled)
		qw_pool_release(qw, t->pool_name);
	qw_notify_new(qw, t->name);
	qw_txn_free(t);
	pub_pump(qw);
}

static void pub_written(struct qw_txn *t)
{
	struct qw *qw = t->qw;

	if (t->pub_err != 0) {
		pub_fail(t, t->pub_err);
		return;
	}
	t->pub_step = QW_PUB_RENAME;
	io_uring_prep_renameat(ev_sqe(&qw->loop, &t->pub_op),
	    t->pooled ? qw->pool_fd : qw->tmp_fd,
	    t->pooled ? t->pool_name : t->name, qw->incoming_fd, t->dest, 0);
}

/* The queue file's length: head, content, trailer. */
static size_t pub_len(const struct qw_txn *t)
{
	return t->head.len + t->content.len + QUEUE_TRAILER_LEN;
}

static void pub_on_write(struct ev_op *op, int res, unsigned flags)
{
	struct qw_txn *t = container_of(op, struct qw_txn, pub_wop);
	size_t want = pub_len(t);

	if (res < 0 && t->pub_err == 0)
		t->pub_err = res;
	else if (res >= 0 && (size_t)res != want && t->pub_err == 0)
		t->pub_err = -ENOSPC;
	if (--t->pub_cqes == 0)
		pub_written(t);
}

/* The ftruncate and the close report the same way. */
static void pub_after_write(struct qw_txn *t, int res)
{
	if (res < 0 && t->pub_err == 0)
		t->pub_err = res;
	if (--t->pub_cqes == 0)
		pub_written(t);
}

static void pub_on_trunc(struct ev_op *op, int res, unsigned flags)
{
	pub_after_write(container_of(op, struct qw_txn, pub_top), res);
}

static void pub_on_close(struct ev_op *op, int res, unsigned flags)
{
	pub_after_write(container_of(op, struct qw_txn, pub_cop), res);
}

/* The file is open: write it all (a pool file in place: then cut it to
 * size), then close it whatever happened. */
static void pub_write(struct qw_txn *t, int fd)
{
	struct qw *qw = t->qw;
	struct io_uring_sqe *sqe;
	int cut = t->pooled && qw->pool_overwrite;

	t->pub_iov[0].iov_base = t->head.data;
	t->pub_iov[0].iov_len = t->head.len;
	t->pub_iov[1].iov_base = t->content.data;
	t->pub_iov[1].iov_len = t->content.len;
	t->pub_iov[2].iov_base = t->trailer;
	t->pub_iov[2].iov_len = QUEUE_TRAILER_LEN;
	t->pub_step = QW_PUB_WRITE;
	t->pub_err = 0;
	t->pub_cqes = cut ? 3 : 2;
	t->pub_wop.fn = pub_on_write;
	t->pub_top.fn = pub_on_trunc;
	t->pub_cop.fn = pub_on_close;
	if (io_uring_sq_space_left(&qw->loop.ring) < (unsigned)t->pub_cqes)
		io_uring_submit(&qw->loop.ring);
	sqe = ev_sqe(&qw->loop, &t->pub_wop);
	io_uring_prep_writev(sqe, fd, t->pub_iov, 3, 0);
	sqe->flags |= IOSQE_IO_HARDLINK;
	if (cut) {
		sqe = ev_sqe(&qw->loop, &t->pub_top);
		ev_prep_ftruncate(sqe, fd, pub_len(t));
		sqe->flags |= IOSQE_IO_HARDLINK;
	}
	io_uring_prep_close(ev_sqe(&qw->loop, &t->pub_cop), fd);
}

static void pub_start(struct qw_txn *t);

static void pub_on_op(struct ev_op *op, int res, unsigned flags)
{
	struct qw_txn *t = container_of(op, struct qw_txn, pub_op);

	if (res < 0 && t->pooled && t->pub_step == QW_PUB_OPEN) {
		/* The pool file is gone: create one instead, at once. */
		qw_pool_release(t->qw, t->pool_name);
		t->pooled = 0;
		t->qw->pub_inflight--;
		pub_start(t);
		return;
	}
	if (res < 0) {
		pub_fail(t, res);
		return;
	}
	if (t->pub_step == QW_PUB_OPEN)
		pub_write(t, res);
	else
		pub_done(t);
}

static void pub_start(struct qw_txn *t)
{
	struct qw *qw = t->qw;

	t->pub_step = QW_PUB_OPEN;
	t->pub_op.fn = pub_on_op;
	qw->pub_inflight++;
	if (qw_pool_take(qw, t->pool_name)) {
		t->pooled = 1;
		io_uring_prep_openat(ev_sqe(&qw->loop, &t->pub_op),
		    qw->pool_fd, t->pool_name, O_WRONLY | O_CLOEXEC |
		    O_NOFOLLOW | (qw->pool_overwrite ? 0 : O_TRUNC), 0);
		return;
	}
	t->pooled = 0;
	io_uring_prep_openat(ev_sqe(&qw->loop, &t->pub_op), qw->tmp_fd,
	    t->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static void pub_pump(struct qw *qw)
{
	while (qw->pubq_head != NULL && qw->pub_inflight < QW_PUBLISH_MAX) {
		struct qw_txn *t = qw->pubq_head;

		qw->pubq_head = t->next;
		if (qw->pubq_head == NULL)
			qw->pubq_tail = &qw->pubq_head;
		qw->pub_queued--;
		t->next = NULL;
		pub_start(t);
	}
}

void qw_publish(struct qw_txn *t)
{
	struct qw *qw = t->qw;

	t->next = NULL;
	*qw->pubq_tail = t;
	qw->pubq_tail = &t->next;
	qw->pub_queued++;
	pub_pump(qw);
}

unsigned qw_publish_busy(const struct qw *qw)
{
	return qw->pub_queued + qw->pub_inflight + qw->pub_retrying;
}
