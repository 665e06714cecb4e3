/* qmgr_status: recipient status fields written in batches on the ring.
 * Writes queued during a loop turn form the next batch, and the messages
 * hear that their writes are done once all of their file's writes
 * returned.  One batch in flight at a time; the next one collects
 * meanwhile.
 *
 * A file with QM_STATUS_MERGE_MIN fields or more to write gets one write:
 * the bytes from its first field to its last are read back (pread, from
 * the page cache: the message was just loaded), patched and written
 * whole.  Why: ext4 cannot take a buffered write without blocking, so
 * every write goes to an io-wq thread, and ten of them per message were
 * the queue manager's largest cost after the rename.  Rewriting the bytes
 * between the fields is safe: only this process writes the file, no
 * write of it is in flight (one batch at a time), and what agents read
 * there is unchanged.
 *
 * No fdatasync: a field is only ever written after what it records is
 * durable (the remote 250, the Maildir rename, the DSN queued), so losing
 * it can repeat a delivery but never lose one.  A process crash loses
 * nothing (the page cache keeps the write); a power loss before the next
 * checkpoint's syncfs (or the kernel's writeback) can lose it, as it can
 * Postfix's done marks, which are not synced either.  Measured: the
 * per-file fdatasync was 7 % of all CPU in local delivery. */
#include "queue/qmgr.h"
#include "queue/queue_file.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sw_cmp(const void *a, const void *b)
{
	const struct qm_swrite *x = a, *y = b;

	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t qm_status_plan(struct qm_swrite *w, size_t n)
{
	size_t nfiles = 0;

	if (n > 1)
		qsort(w, n, sizeof(*w), sw_cmp);
	for (size_t i = 0; i < n; i++) {
		int same_fd = i + 1 < n && w[i + 1].fd == w[i].fd;

		w[i].dup = same_fd && w[i + 1].off == w[i].off;
		w[i].last = !same_fd;
		w[i].res = 0;
		nfiles += (size_t)w[i].last;
	}
	return nfiles;
}

void qm_status_merge(struct qm_swrite *w, size_t n, char *span,
    size_t span_len)
{
	for (size_t k = 0; k < n; k++) {
		if (!w[k].dup && w[k].off + QUEUE_STATUS_LEN - w[0].off <=
		    span_len)
			memcpy(span + (w[k].off - w[0].off), w[k].field,
			    QUEUE_STATUS_LEN);
		w[k].dup = k > 0;
	}
	w[0].span = span;
	w[0].span_len = span_len;
}

void qm_status_queue(struct qm *qm, struct qm_msg *m, size_t i, char status,
    uint64_t next)
{
	static size_t seq;
	struct qm_swrite *w;

	if (qm->nsw == qm->swcap) {
		qm->swcap = qm->swcap ? qm->swcap * 2 : 256;
		qm->sw = xreallocarray(qm->sw, qm->swcap, sizeof(*qm->sw));
	}
	w = &qm->sw[qm->nsw++];
	memset(w, 0, sizeof(*w));
	w->fd = m->fd;
	w->off = m->rcpts[i].status_off;
	queue_file_status_field(status, next, w->field);
	w->msg = m;
	w->seq = seq++;
	w->qm = qm;
	m->nwrites++;
	m->flags |= QM_M_WRITING;
}

/* 1 if every write of one file's group swb[start..end] succeeded. */
static int sw_group_ok(const struct qm *qm, size_t start, size_t end)
{
	for (size_t k = start; k <= end; k++)
		if (qm->swb[k].res < 0)
			return 0;
	return 1;
}

/* Every write returned: tell the messages, a file's group at a time. */
static void sw_complete(struct qm *qm)
{
	size_t start = 0;

	for (size_t i = 0; i < qm->nswb; i++) {
		struct qm_swrite *w = &qm->swb[i];
		int ok;

		if (!w->last)
			continue;
		ok = sw_group_ok(qm, start, i);
		if (!ok)
			log_warn("cannot update the status of queue file fd %d: "
			    "%s", w->fd, strerror(-w->res ? -w->res : EIO));
		free(qm->swb[start].span);
		qm->swb[start].span = NULL;
		for (size_t k = start; k <= i; k++) {
			struct qm_msg *m = qm->swb[k].msg;

			if (!ok)
				m->write_failed = 1;
			if (--m->nwrites == 0) {
				m->flags &= ~QM_M_WRITING;
				qm_msg_written(qm, m);
			}
		}
		start = i + 1;
	}
	qm->nswb = 0;
	qm_kick(qm);
}

/* Bytes of one write: its group's span, or its own field. */
static size_t sw_len(const struct qm_swrite *w)
{
	return w->span != NULL ? w->span_len : QUEUE_STATUS_LEN;
}

static void sw_on_write(struct ev_op *op, int res, unsigned flags)
{
	struct qm_swrite *w = container_of(op, struct qm_swrite, op);
	struct qm *qm = w->qm;

	if (res != (int)sw_len(w))
		w->res = res < 0 ? res : -EIO;
	if (--qm->sw_outstanding == 0)
		sw_complete(qm);
}

/* One file's writes w[0..n-1] in one span, if they are many and close
 * enough and the bytes between them can be read back. */
static void sw_try_merge(struct qm_swrite *w, size_t n)
{
	size_t fields = 0, len;
	char *span;

	for (size_t k = 0; k < n; k++)
		fields += !w[k].dup;
	len = w[n - 1].off + QUEUE_STATUS_LEN - w[0].off;
	if (fields < QM_STATUS_MERGE_MIN || len > QM_STATUS_SPAN_MAX)
		return;
	span = xmalloc(len);
	if (pread(w[0].fd, span, len, (off_t)w[0].off) != (ssize_t)len) {
		free(span);	/* written field by field instead */
		return;
	}
	qm_status_merge(w, n, span, len);
}

void qm_status_kick(struct qm *qm)
{
	struct qm_swrite *t;
	size_t cap, start = 0;

	if (qm->nswb > 0 || qm->nsw == 0)
		return;
	/* Swap: the queued writes become the batch in flight. */
	t = qm->swb, qm->swb = qm->sw, qm->sw = t;
	cap = qm->swbcap, qm->swbcap = qm->swcap, qm->swcap = cap;
	qm->nswb = qm->nsw;
	qm->nsw = 0;
	qm_status_plan(qm->swb, qm->nswb);
	for (size_t i = 0; i < qm->nswb; i++) {
		struct qm_swrite *w = &qm->swb[i];

		if (w->last) {
			sw_try_merge(&qm->swb[start], i + 1 - start);
			start = i + 1;
		}
	}
	for (size_t i = 0; i < qm->nswb; i++) {
		struct qm_swrite *w = &qm->swb[i];

		if (w->dup)
			continue;
		w->op.fn = sw_on_write;
		qm->sw_outstanding++;
		ev_write(&qm->loop, &w->op, w->fd, w->span != NULL ? w->span :
		    w->field, sw_len(w), (long long)w->off);
	}
	if (qm->sw_outstanding == 0)
		sw_complete(qm);
}
