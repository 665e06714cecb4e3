/* qmgr_status: recipient status fields written in batches on the ring.
 * Writes queued during a loop turn form the next batch: every 21-byte
 * field is written with its own pwrite, and the messages hear that their
 * writes are done once all of their file's writes returned.  One batch in
 * flight at a time; the next one collects meanwhile.
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

static void sw_on_write(struct ev_op *op, int res, unsigned flags)
{
	struct qm_swrite *w = container_of(op, struct qm_swrite, op);
	struct qm *qm = w->qm;

	if (res != QUEUE_STATUS_LEN)
		w->res = res < 0 ? res : -EIO;
	if (--qm->sw_outstanding == 0)
		sw_complete(qm);
}

void qm_status_kick(struct qm *qm)
{
	struct qm_swrite *t;
	size_t cap;

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

		if (w->dup)
			continue;
		w->op.fn = sw_on_write;
		qm->sw_outstanding++;
		ev_write(&qm->loop, &w->op, w->fd, w->field, QUEUE_STATUS_LEN,
		    (long long)w->off);
	}
	if (qm->sw_outstanding == 0)
		sw_complete(qm);
}
