/* qmgr_settle: the end of an attempt, once no job of the message is left.
 * Order: operator deletes and expiries are decided; bounced recipients
 * get one DSN, queued through the writer (they are marked B only after the
 * writer said QUEUED); every changed status field is written and made
 * durable (qmgr_status.c); only then does the message leave the active
 * set: unlinked when nothing is pending (once the writer's watermark has
 * passed its ID, else it waits on the finished list), moved to hold/, or
 * moved to deferred/ with its next attempt as mtime. */
#include "queue/qmgr.h"
#include "queue/queue_file.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define QM_FIN_BATCH 4096	/* unlinks per loop turn */

void qm_msg_settle(struct qm *qm, struct qm_msg *m)
{
	if (m->flags & QM_M_SETTLE)
		return;
	if (qm->nsettle == qm->settlecap) {
		qm->settlecap = qm->settlecap ? qm->settlecap * 2 : 64;
		qm->settle_q = xreallocarray(qm->settle_q, qm->settlecap,
		    sizeof(*qm->settle_q));
	}
	qm->settle_q[qm->nsettle++] = m;
	m->flags |= QM_M_SETTLE;
	qm_kick(qm);
}

static void msg_free(struct qm *qm, struct qm_msg *m)
{
	if (m->flags & QM_M_SETTLE)
		for (size_t i = 0; i < qm->nsettle; i++)
			if (qm->settle_q[i] == m)
				qm->settle_q[i] = NULL;
	qm_msg_unlink(qm, m);
	if (m->fd >= 0)
		close(m->fd);
	for (size_t i = 0; i < m->nrcpt; i++) {
		free(m->rcpts[i].addr);
		free(m->rcpts[i].text);
		free(m->rcpts[i].relay);
	}
	free(m->rcpts);
	free(m->sender);
	free(m->body);
	free(m);
	qm_kick(qm);	/* room for another message */
}

static void settle_delete(struct qm *qm, struct qm_msg *m)
{
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct qm_rcpt *r = &m->rcpts[i];

		if (r->state == QM_R_IDLE || r->state == QM_R_DEFER ||
		    (r->state == QM_R_BOUNCE && !r->dsn_ok)) {
			qm_msg_log_rcpt(m, r, "5.0.0", "deleted",
			    "deleted by the operator");
			r->state = QM_R_DELETED;
		}
	}
}

static void settle_expire(struct qm *qm, struct qm_msg *m, time_t now)
{
	/* Rounded up: now is whole seconds, and a message must have been
	 * queued for the full lifetime before it expires. */
	uint64_t arr = (m->arrival_us + 999999u) / 1000000u;

	if ((uint64_t)now < arr + qm->conf->queue_lifetime)
		return;
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct qm_rcpt *r = &m->rcpts[i];
		char text[QM_TEXT_MAX + 64];

		if (r->state != QM_R_DEFER)
			continue;
		snprintf(text, sizeof(text), "message expired after %us "
		    "in the queue: %s", qm->conf->queue_lifetime,
		    r->text ? r->text : "no reason");
		free(r->text);
		r->text = xstrdup(text);
		snprintf(r->dsn, sizeof(r->dsn), "4.4.7");
		r->state = QM_R_BOUNCE;
		r->expired = 1;
		r->dsn_ok = 0;
		qm->st.expired++;
		qm_msg_log_rcpt(m, r, r->dsn, "expired", r->text);
	}
}

/* 1: wait for the writer's answer to the DSN; 0: go on. */
static int settle_bounces(struct qm *qm, struct qm_msg *m)
{
	int need = 0, rc;

	for (size_t i = 0; i < m->nrcpt; i++)
		if (m->rcpts[i].state == QM_R_BOUNCE && !m->rcpts[i].dsn_ok)
			need = 1;
	if (!need)
		return 0;
	if (m->sender[0] == '\0') {
		log_info("%s: dsn suppressed for null sender", m->id);
		for (size_t i = 0; i < m->nrcpt; i++)
			m->rcpts[i].dsn_ok = 1;
		return 0;
	}
	if ((rc = qm_bounce_submit(qm, m)) == 0) {
		m->flags |= QM_M_DSN_BUSY;
		return 1;
	}
	qm_msg_dsn_result(qm, m, 0);
	return 1;
}

static void settle_writes(struct qm *qm, struct qm_msg *m, time_t now)
{
	m->next_attempt = now + (time_t)qm_backoff(m->attempts,
	    qm->conf->retry_min, qm->conf->retry_max);
	for (size_t i = 0; i < m->nrcpt; i++) {
		switch (m->rcpts[i].state) {
		case QM_R_SENT:
		case QM_R_DELETED:
			qm_status_queue(qm, m, i, QUEUE_RCPT_DONE, 0);
			break;
		case QM_R_BOUNCE:
			qm_status_queue(qm, m, i, QUEUE_RCPT_BOUNCED, 0);
			break;
		case QM_R_DEFER:
			qm_status_queue(qm, m, i, QUEUE_RCPT_PENDING,
			    (uint64_t)m->next_attempt);
			break;
		default:
			break;
		}
	}
}

static void settle_one(struct qm *qm, struct qm_msg *m)
{
	time_t now = qm_now();

	if (m->njobs > 0 || (m->flags & (QM_M_WRITING | QM_M_DSN_BUSY)))
		return;
	if (m->flags & QM_M_DELETE) {
		settle_delete(qm, m);
	} else {
		settle_expire(qm, m, now);
		if (settle_bounces(qm, m))
			return;
		if (!(m->flags & QM_M_HOLD))
			qm_bounce_delay_warning(qm, m);
	}
	settle_writes(qm, m, now);
	if (m->nwrites == 0)
		qm_msg_written(qm, m);
}

void qm_msg_settle_run(struct qm *qm)
{
	for (size_t i = 0; i < qm->nsettle; i++) {
		struct qm_msg *m = qm->settle_q[i];

		if (m == NULL)
			continue;
		m->flags &= ~QM_M_SETTLE;
		settle_one(qm, m);
	}
	qm->nsettle = 0;
}

void qm_msg_dsn_result(struct qm *qm, struct qm_msg *m, int ok)
{
	m->flags &= ~QM_M_DSN_BUSY;
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct qm_rcpt *r = &m->rcpts[i];

		if (r->state != QM_R_BOUNCE || r->dsn_ok)
			continue;
		if (ok)
			r->dsn_ok = 1;
		else
			r->state = QM_R_DEFER;	/* bounce again next time */
	}
	if (!ok)
		log_warn("%s: %s; the bounced recipients stay queued", m->id,
		    QM_TEXT_DSNFAIL);
	qm_msg_settle(qm, m);
}

static void msg_finish(struct qm *qm, struct qm_msg *m)
{
	if (qm->nfin == qm->fincap) {
		qm->fincap = qm->fincap ? qm->fincap * 2 : 256;
		qm->fin = xreallocarray(qm->fin, qm->fincap, sizeof(*qm->fin));
	}
	qm->fin[qm->nfin].qid = m->qid;
	qm->fin[qm->nfin].reuse = m->size <= QM_POOL_FILE_MAX;
	qm->fin[qm->nfin++].dir = m->dir;
	if (m->qid <= qm->watermark)
		qm->fin_due = 1;
	qm_hist_del(qm, m->qid);
	msg_free(qm, m);
}

static void msg_move(struct qm *qm, struct qm_msg *m, enum qm_dir to)
{
	if (m->dir == to)
		return;
	if (renameat(qm->dirfd[m->dir], m->rel, qm->dirfd[to], m->rel) < 0) {
		log_warn("%s: cannot move the queue file: %s", m->id,
		    strerror(errno));
		if (m->dir == QM_INCOMING)
			qm->rescan_later = 1;	/* or nobody looks again */
	} else {
		m->dir = to;
	}
}

/* Remember the attempt and the last error while the message waits. */
static void msg_remember(struct qm *qm, struct qm_msg *m)
{
	struct qm_hist *h = qm_hist_put(qm, m->qid);
	char text[QM_LASTERR_MAX];

	h->attempts = m->attempts;
	h->warned = (m->flags & QM_M_WARNED) != 0;
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct qm_rcpt *r = &m->rcpts[i];

		if (r->state != QM_R_DEFER || r->text == NULL)
			continue;
		snprintf(text, sizeof(text), "%s %s", r->dsn, r->text);
		free(h->lasterr);
		h->lasterr = xstrdup(text);
		break;
	}
}

static void msg_defer(struct qm *qm, struct qm_msg *m)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = m->next_attempt;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	/* The mtime first: a scan must never see a stale one in deferred/. */
	if (futimens(m->fd, ts) < 0)
		log_warn("%s: cannot set the next attempt time: %s", m->id,
		    strerror(errno));
	msg_move(qm, m, QM_DEFERRED);
	msg_remember(qm, m);
	msg_free(qm, m);
}

/* Count what became durable, or put it back to pending. */
static int written_account(struct qm *qm, struct qm_msg *m)
{
	int pending = 0;

	for (size_t i = 0; i < m->nrcpt; i++) {
		struct qm_rcpt *r = &m->rcpts[i];

		if (m->write_failed && (r->state == QM_R_SENT ||
		    r->state == QM_R_BOUNCE || r->state == QM_R_DELETED))
			r->state = QM_R_DEFER;
		else if (r->state == QM_R_SENT)
			qm->st.delivered++, r->state = QM_R_DONE;
		else if (r->state == QM_R_BOUNCE)
			qm->st.bounced++, r->state = QM_R_DONE;
		else if (r->state == QM_R_DELETED)
			qm->st.deleted++, r->state = QM_R_DONE;
		if (r->state == QM_R_DEFER || r->state == QM_R_IDLE)
			pending = 1;
	}
	if (m->write_failed)
		log_warn("%s: recipient status not recorded; the message "
		    "will be tried again", m->id);
	m->write_failed = 0;
	return pending;
}

void qm_msg_written(struct qm *qm, struct qm_msg *m)
{
	if (!written_account(qm, m)) {
		msg_finish(qm, m);
	} else if (m->flags & QM_M_HOLD) {
		msg_move(qm, m, QM_HOLD);
		if (m->dir == QM_HOLD)
			log_info("%s: held", m->id);
		msg_remember(qm, m);
		msg_free(qm, m);
	} else {
		msg_defer(qm, m);
	}
}

void qm_fin_sweep(struct qm *qm)
{
	size_t w = 0, budget = QM_FIN_BATCH;
	int rc;

	/* Nothing new to unlink unless the watermark moved or an entry it
	 * already covers came in: no walk of the list every loop turn. */
	if (!qm->fin_due && qm->watermark == qm->fin_swept)
		return;
	qm->fin_due = 0;
	qm->fin_swept = qm->watermark;

	for (size_t i = 0; i < qm->nfin; i++) {
		struct qm_fin *f = &qm->fin[i];
		char rel[QID_LEN + 4], id[QID_LEN + 1], xx[3];

		if (f->qid > qm->watermark || budget == 0) {
			qm->fin[w++] = *f;
			continue;
		}
		budget--;
		qid_format(f->qid, id);
		qid_hash_dir(f->qid, xx);
		snprintf(rel, sizeof(rel), "%s/%s", xx, id);
		rc = qm_pool_dispose(qm, f, rel, id);
		if (rc == 0)
			log_info("%s: removed", id);
		else if (rc != -ENOENT)
			log_warn("%s: cannot remove the queue file: %s", id,
			    strerror(-rc));
	}
	qm->nfin = w;
	if (budget == 0) {
		qm->fin_due = 1;
		qm_kick(qm);
	}
}
