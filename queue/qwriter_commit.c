/* qwriter_commit: group commit into the journal, and the segments.  At most
 * one group is in flight: its records are appended with linked writev ops
 * ending in one fdatasync; every COMMIT that arrives meanwhile waits in the
 * pending list and rides on the next group.  A spare segment is always
 * being prepared (created, journal directory fsynced) so a rotation never
 * waits.  After a write or sync error the segment is retired and never
 * appended to again: its tail is unknown. */
#include "queue/qwriter.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static struct qw_seg *seg_new(uint64_t segno, int fd)
{
	struct qw_seg *s = xcalloc(1, sizeof(*s));

	s->segno = segno;
	s->fd = fd;
	return s;
}

/* Start-up only: create a segment with blocking calls. */
static struct qw_seg *seg_open_blocking(struct qw *qw)
{
	for (;;) {
		uint64_t segno = qw->next_segno++;
		char name[17];
		int fd;

		journal_seg_name(segno, name);
		fd = openat(qw->journal_fd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			return seg_new(segno, fd);
		if (errno != EEXIST)
			fatal("cannot create journal segment %s", name);
	}
}

void qw_segments_init(struct qw *qw)
{
	uint64_t *segs;
	size_t n;

	if (journal_list(qw->spool, &segs, &n) < 0)
		fatal("cannot list %s/journal", qw->spool);
	qw->next_segno = n > 0 ? segs[n - 1] + 1 : 1;
	free(segs);
	qw->cur = seg_open_blocking(qw);
	qw->spare = seg_open_blocking(qw);
	if (fsync(qw->journal_fd) < 0)
		fatal("fsync %s/journal", qw->spool);
	qw->spare_state = QW_SPARE_READY;
}

static void spare_start(struct qw *qw);

static void spare_fail(struct qw *qw, int err)
{
	log_warn("cannot create a journal segment: %s; retrying",
	    strerror(-err));
	if (qw->spare != NULL) {
		close(qw->spare->fd);
		free(qw->spare);
		qw->spare = NULL;
	}
	qw->spare_state = QW_SPARE_FAILED;
	ev_timeout(&qw->loop, &qw->spare_timer_op, &qw->spare_ts,
	    QW_RETRY_MS);
}

static void spare_on_timer(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, spare_timer_op);

	if (qw->spare_state == QW_SPARE_FAILED)
		spare_start(qw);
}

static void spare_on_done(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, spare_op);

	if (qw->spare_state == QW_SPARE_OPENING) {
		if (res == -EEXIST) {
			spare_start(qw);
		} else if (res < 0) {
			spare_fail(qw, res);
		} else {
			qw->spare = seg_new(qw->next_segno - 1, res);
			qw->spare_state = QW_SPARE_SYNCING;
			/* The new name must be durable before records in it
			 * are acknowledged. */
			ev_fsync(&qw->loop, &qw->spare_op, qw->journal_fd, 0);
		}
	} else if (qw->spare_state == QW_SPARE_SYNCING) {
		if (res < 0)
			spare_fail(qw, res);
		else
			qw->spare_state = QW_SPARE_READY;
	}
}

static void spare_start(struct qw *qw)
{
	struct io_uring_sqe *sqe;

	qw->spare_op.fn = spare_on_done;
	qw->spare_timer_op.fn = spare_on_timer;
	qw->spare_state = QW_SPARE_OPENING;
	journal_seg_name(qw->next_segno++, qw->spare_name);
	sqe = ev_sqe(&qw->loop, &qw->spare_op);
	io_uring_prep_openat(sqe, qw->journal_fd, qw->spare_name,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* Move the current segment to the old list (no more appends). */
static void seg_retire(struct qw *qw)
{
	if (qw->cur == NULL)
		return;
	qw->cur->next = qw->old;
	qw->old = qw->cur;
	qw->cur = NULL;
}

int qw_segment_rotate(struct qw *qw)
{
	if (qw->spare_state != QW_SPARE_READY)
		return -EAGAIN;
	seg_retire(qw);
	qw->cur = qw->spare;
	qw->spare = NULL;
	spare_start(qw);
	return 0;
}

static void grp_refuse_pending(struct qw *qw)
{
	while (qw->pend_head != NULL) {
		struct qw_txn *t = qw->pend_head;

		qw->pend_head = t->next;
		qw_txn_answer(t, IPC_QW_TEMPFAIL, QW_TEXT_DISK);
		qw_txn_free(t);
	}
	qw->pend_tail = &qw->pend_head;
	qw->npend = 0;
}

static void grp_done(struct qw *qw)
{
	struct qw_group *g = &qw->grp;
	struct qw_seg *seg = g->seg;
	struct qw_txn *t, *next;

	g->active = 0;
	if (g->failed) {
		log_warn("journal segment %016llX: append failed: %s; %zu "
		    "messages not queued", (unsigned long long)seg->segno,
		    strerror(-g->err), g->n);
		seg->failed = 1;
		qw->nfailed += g->n;
		if (seg == qw->cur)
			seg_retire(qw);
	} else {
		qw->ngroups++;
		qw->ncommits += g->n;
		if (seg->size >= QW_SEG_MAX)
			qw->ckpt_want = 1;
	}
	for (t = g->txns; t != NULL; t = next) {
		next = t->next;
		if (g->failed) {
			seg->unpublished--;
			qw_txn_answer(t, IPC_QW_TEMPFAIL, QW_TEXT_DISK);
			qw_txn_free(t);
			continue;
		}
		qw_alias_log(t);
		log_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queued)",
		    t->name, t->msg.sender, t->msg.content_len, t->msg.nrcpt);
		qw_txn_answer(t, IPC_QW_QUEUED, NULL);
		qw_publish(t);
	}
	g->txns = NULL;
	g->n = 0;
}

static void grp_on_io(struct ev_op *op, int res, unsigned flags)
{
	struct qw_wop *w = container_of(op, struct qw_wop, op);
	struct qw_group *g = &w->qw->grp;

	if (res < 0 || (size_t)res != w->expect) {
		if (!g->failed || g->err == -ECANCELED)
			g->err = res < 0 ? res : -ENOSPC;
		g->failed = 1;
	}
	if (--g->outstanding == 0)
		grp_done(w->qw);
}

static void grp_iov(struct qw_group *g, const void *p, size_t n)
{
	if (g->niov == g->iovcap) {
		g->iovcap = g->iovcap ? g->iovcap * 2 : 256;
		g->iov = xreallocarray(g->iov, g->iovcap, sizeof(*g->iov));
	}
	g->iov[g->niov].iov_base = (void *)(uintptr_t)p;
	g->iov[g->niov++].iov_len = n;
}

/* Take pending commits into the group; returns the bytes to append. */
static size_t grp_collect(struct qw *qw)
{
	struct qw_group *g = &qw->grp;
	struct qw_txn **tail = &g->txns;
	size_t bytes = 0;

	g->niov = 0;
	while (qw->pend_head != NULL && g->n < QW_GROUP_MAX_TXNS &&
	    (g->n == 0 || bytes < QW_GROUP_MAX_BYTES)) {
		struct qw_txn *t = qw->pend_head;

		qw->pend_head = t->next;
		qw->npend--;
		t->next = NULL;
		*tail = t;
		tail = &t->next;
		g->n++;
		t->seg = g->seg;
		g->seg->unpublished++;
		if (g->seg->min_qid == 0)
			g->seg->min_qid = t->msg.qid;
		grp_iov(g, t->jhdr, JOURNAL_HDR_LEN);
		grp_iov(g, t->head.data, t->head.len);
		grp_iov(g, t->content.data, t->content.len);
		grp_iov(g, t->trailer, QUEUE_TRAILER_LEN);
		bytes += JOURNAL_HDR_LEN + t->head.len + t->content.len +
		    QUEUE_TRAILER_LEN;
	}
	if (qw->pend_head == NULL)
		qw->pend_tail = &qw->pend_head;
	return bytes;
}

/* Linked writev ops, then one fdatasync, on the current segment. */
static void grp_submit(struct qw *qw, unsigned long long off)
{
	struct qw_group *g = &qw->grp;
	size_t nw = (g->niov + QW_IOV_MAX - 1) / QW_IOV_MAX;
	struct io_uring_sqe *sqe;

	if (nw > g->wopcap) {
		g->wopcap = nw;
		g->wops = xreallocarray(g->wops, nw, sizeof(*g->wops));
	}
	/* A link chain must not be split across two submissions. */
	if (io_uring_sq_space_left(&qw->loop.ring) < nw + 1)
		io_uring_submit(&qw->loop.ring);
	for (size_t i = 0; i < nw; i++) {
		size_t first = i * QW_IOV_MAX, cnt = g->niov - first;
		struct qw_wop *w = &g->wops[i];

		if (cnt > QW_IOV_MAX)
			cnt = QW_IOV_MAX;
		w->op.fn = grp_on_io;
		w->qw = qw;
		w->expect = 0;
		for (size_t k = 0; k < cnt; k++)
			w->expect += g->iov[first + k].iov_len;
		sqe = ev_sqe(&qw->loop, &w->op);
		io_uring_prep_writev(sqe, g->seg->fd, g->iov + first,
		    (unsigned)cnt, off);
		sqe->flags |= IOSQE_IO_LINK;
		off += w->expect;
	}
	g->sync.op.fn = grp_on_io;
	g->sync.qw = qw;
	g->sync.expect = 0;
	ev_fsync(&qw->loop, &g->sync.op, g->seg->fd, 1);
	g->outstanding = (unsigned)nw + 1;
}

void qw_commit_kick(struct qw *qw)
{
	struct qw_group *g = &qw->grp;
	unsigned long long off;

	if (g->active || qw->npend == 0)
		return;
	if (qw->cur == NULL && qw_segment_rotate(qw) < 0) {
		if (qw->spare_state == QW_SPARE_FAILED)
			grp_refuse_pending(qw);
		return;
	}
	g->active = 1;
	g->failed = 0;
	g->err = 0;
	g->seg = qw->cur;
	off = g->seg->size;
	g->seg->size += grp_collect(qw);
	grp_submit(qw, off);
}
