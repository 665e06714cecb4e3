/* qwriter_notify: the writer's side of the queue manager's subscription
 * (docs/delivery-protocol.md).  One subscriber at a time, and only from
 * the writer's own uid.  It hears NEW after every rename into incoming/
 * (dropped, with a rescan flag, when it stops reading) and CKPT with the
 * watermark: every queue ID <= it has no journal record left that recovery
 * could replay, so a finished file with such an ID may be unlinked. */
#include "queue/qwriter.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <stdint.h>

/* Bytes queued for c and not yet sent. */
static size_t notify_unread(const struct qw_client *c)
{
	return c->out.len + (c->sendbuf.len - c->sendoff);
}

uint64_t qw_watermark(const struct qw *qw)
{
	uint64_t lo = qw->del_lo ? qw->del_lo : UINT64_MAX;

	if (qw->pend_head != NULL && qw->pend_head->msg.qid < lo)
		lo = qw->pend_head->msg.qid;
	if (qw->cur != NULL && qw->cur->min_qid != 0 && qw->cur->min_qid < lo)
		lo = qw->cur->min_qid;
	for (const struct qw_seg *s = qw->old; s != NULL; s = s->next)
		if (s->min_qid != 0 && s->min_qid < lo)
			lo = s->min_qid;
	if (lo == UINT64_MAX)
		return qw->last_qid;
	return lo - 1;
}

static void notify_send_ckpt(struct qw *qw, struct qw_client *c)
{
	char id[QID_LEN + 1];
	size_t off;

	if (c->closing)
		return;
	qid_format(qw_watermark(qw), id);
	off = ipc_begin(&c->out, IPC_QM_CKPT, 0);
	ipc_put_str(&c->out, IPC_A_QID, id);
	if (qw->notify_dropped) {
		ipc_put_str(&c->out, IPC_A_TEXT, "rescan");
		qw->notify_dropped = 0;
	}
	ipc_end(&c->out, off);
	/* An empty reply flushes what was just appended. */
	qw_client_flush(c);
}

void qw_notify_subscribe(struct qw_client *c)
{
	struct qw *qw = c->qw;

	if (qw->subscriber != NULL && qw->subscriber != c)
		log_info("queue manager pid=%ld replaces pid=%ld as subscriber",
		    (long)c->pid, (long)qw->subscriber->pid);
	else if (qw->subscriber == NULL)
		log_info("queue manager pid=%ld subscribed", (long)c->pid);
	qw->subscriber = c;
	qw->notify_dropped = 0;	/* it scans incoming/ now */
	notify_send_ckpt(qw, c);
}

void qw_notify_gone(struct qw_client *c)
{
	if (c->qw->subscriber == c)
		c->qw->subscriber = NULL;
}

void qw_notify_new(struct qw *qw, const char *qid)
{
	struct qw_client *c = qw->subscriber;
	size_t off;

	if (c == NULL || c->closing)
		return;
	if (qw->notify_dropped || notify_unread(c) > QW_NOTIFY_MAX) {
		if (!qw->notify_dropped)
			log_warn("queue manager pid=%ld does not read its "
			    "notices; dropping them until the next checkpoint",
			    (long)c->pid);
		qw->notify_dropped = 1;
		return;
	}
	off = ipc_begin(&c->out, IPC_QM_NEW, 0);
	ipc_put_str(&c->out, IPC_A_QID, qid);
	ipc_end(&c->out, off);
	qw_client_flush(c);
}

void qw_notify_ckpt(struct qw *qw)
{
	if (qw->subscriber != NULL)
		notify_send_ckpt(qw, qw->subscriber);
}
