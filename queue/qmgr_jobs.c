/* qmgr_jobs: jobs between the scheduler, the agents and the messages.  A
 * job is one message's recipients for one next hop; it waits in its
 * destination's queue (qmgr_sched.c), goes to an agent, collects one
 * result per recipient, and is finished by DONE or by the agent's loss
 * (unanswered recipients are deferred, logged here).  Its outcome drives
 * the destination's slow start; a destination that just died defers its
 * queued jobs at once, so they leave the active set instead of waiting. */
#include "queue/qmgr.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <stdio.h>
#include <stdlib.h>

#define QM_DISPATCH_MAX 4096	/* jobs handed out per loop turn */

static size_t job_bucket(const struct qm *qm, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 24) &
	    (qm->jtabsize - 1);
}

struct qm_job *qm_job_find(struct qm *qm, uint64_t id)
{
	struct qm_job *j;

	for (j = qm->jtab[job_bucket(qm, id)]; j != NULL; j = j->hnext)
		if (j->id == id)
			return j;
	return NULL;
}

struct qm_job *qm_job_new(struct qm *qm, struct qm_msg *m,
    struct qm_dest *d, const uint32_t *idx, unsigned n)
{
	struct qm_job *j = xcalloc(1, sizeof(*j));
	size_t b;

	j->id = ++qm->next_job_id;
	j->msg = m;
	j->n = n;
	j->idx = xreallocarray(NULL, n, sizeof(*j->idx));
	memcpy(j->idx, idx, n * sizeof(*idx));
	j->answered = xcalloc(n, 1);
	j->queued_at = qm_now();
	b = job_bucket(qm, j->id);
	j->hnext = qm->jtab[b];
	qm->jtab[b] = j;
	j->mnext = m->jobs;
	m->jobs = j;
	m->njobs++;
	qm_dest_push(&qm->sched, d, j);
	return j;
}

/* Forget j everywhere (hash, message, agent) and free it. */
static void job_free(struct qm *qm, struct qm_job *j)
{
	struct qm_job **pp = &qm->jtab[job_bucket(qm, j->id)];

	while (*pp != NULL && *pp != j)
		pp = &(*pp)->hnext;
	if (*pp == j)
		*pp = j->hnext;
	for (pp = &j->msg->jobs; *pp != NULL; pp = &(*pp)->mnext)
		if (*pp == j) {
			*pp = j->mnext;
			break;
		}
	if (j->agent != NULL) {
		struct qm_agent *a = j->agent;

		if (j->aprev != NULL)
			j->aprev->anext = j->anext;
		else
			a->jobs = j->anext;
		if (j->anext != NULL)
			j->anext->aprev = j->aprev;
		a->inflight--;
	}
	free(j->idx);
	free(j->answered);
	free(j);
}

void qm_job_result(struct qm *qm, struct qm_job *j, const struct qm_arec *r)
{
	struct qm_rcpt *rc = &j->msg->rcpts[r->idx];

	for (unsigned k = 0; k < j->n; k++)
		if (j->idx[k] == r->idx && !j->answered[k]) {
			j->answered[k] = 1;
			j->nanswered++;
			break;
		}
	snprintf(rc->dsn, sizeof(rc->dsn), "%s", r->dsn);
	free(rc->text);
	free(rc->relay);
	rc->text = xstrdup(r->text);
	rc->relay = xstrdup(r->relay);
	switch (r->cls) {
	case QM_CLS_SENT:
		rc->state = QM_R_SENT;
		j->nok++;
		break;
	case QM_CLS_BOUNCED:
		rc->state = QM_R_BOUNCE;
		rc->dsn_ok = 0;
		j->nok++;
		break;
	default:
		rc->state = QM_R_DEFER;
		qm->st.deferred++;
		if (strcmp(r->relay, "none") == 0)
			j->nconnfail++;
		break;
	}
}

/* The destination died: keep its last error for the suspended jobs. */
static void job_dest_died(struct qm *qm, struct qm_job *j)
{
	struct qm_dest *d = j->dest;
	char text[QM_LASTERR_MAX + 64];

	for (unsigned k = 0; k < j->n; k++) {
		const struct qm_rcpt *r = &j->msg->rcpts[j->idx[k]];

		if (r->state == QM_R_DEFER && r->text != NULL) {
			snprintf(text, sizeof(text), "%s delivery temporarily "
			    "suspended: %.*s", r->dsn, QM_LASTERR_MAX, r->text);
			free(d->last_err);
			d->last_err = xstrdup(text);
			break;
		}
	}
	log_warn("destination %s is not responding: no new attempt for %us",
	    d->key, qm->sched.dead_secs);
}

void qm_job_finish(struct qm *qm, struct qm_job *j, const char *text)
{
	struct qm_msg *m = j->msg;
	struct qm_dest *d = j->dest;
	enum qm_outcome o;

	for (unsigned k = 0; k < j->n; k++)
		if (!j->answered[k])
			qm_msg_defer_rcpt(qm, m, &m->rcpts[j->idx[k]], text);
	if (j->nok > 0)
		o = QM_OUT_OK;
	else if (j->nanswered == j->n && j->nconnfail == j->n)
		o = QM_OUT_CONNFAIL;
	else
		o = QM_OUT_OTHER;
	if (qm_dest_done(&qm->sched, d, o, qm_now())) {
		job_dest_died(qm, j);
		job_free(qm, j);
		qm_msg_job_gone(qm, m);
		qm_jobs_defer_dest(qm, d, d->last_err ? d->last_err :
		    "4.4.1 delivery temporarily suspended");
		return;
	}
	job_free(qm, j);
	qm_msg_job_gone(qm, m);
}

void qm_jobs_defer_dest(struct qm *qm, struct qm_dest *d, const char *text)
{
	char copy[QM_LASTERR_MAX + 64];

	snprintf(copy, sizeof(copy), "%s", text);	/* d->last_err may go */
	while (d->qhead != NULL) {
		struct qm_job *j = d->qhead;
		struct qm_msg *m = j->msg;

		qm_dest_remove(&qm->sched, d, j);
		for (unsigned k = 0; k < j->n; k++)
			qm_msg_defer_rcpt(qm, m, &m->rcpts[j->idx[k]], copy);
		job_free(qm, j);
		qm_msg_job_gone(qm, m);
	}
}

void qm_jobs_drop_msg(struct qm *qm, struct qm_msg *m)
{
	struct qm_job *j = m->jobs, *next;

	for (; j != NULL; j = next) {
		next = j->mnext;
		if (j->agent != NULL)
			continue;	/* in flight: its results still count */
		qm_dest_remove(&qm->sched, j->dest, j);
		for (unsigned k = 0; k < j->n; k++)
			m->rcpts[j->idx[k]].state = QM_R_IDLE;
		job_free(qm, j);
		qm_msg_job_gone(qm, m);
	}
}

static struct qm_agent *jobs_pick(void *ctx, enum qm_kind kind)
{
	return qm_agent_pick(ctx, kind);
}

static void jobs_give(void *ctx, struct qm_job *j, struct qm_agent *a)
{
	struct qm *qm = ctx;

	j->agent = a;
	j->given_at = qm_now();
	j->aprev = NULL;
	j->anext = a->jobs;
	if (a->jobs != NULL)
		a->jobs->aprev = j;
	a->jobs = j;
	a->inflight++;
	for (unsigned k = 0; k < j->n; k++)
		j->msg->rcpts[j->idx[k]].state = QM_R_INFLIGHT;
	if (qm_agent_send_job(qm, a, j) < 0)
		qm_job_finish(qm, j, QM_TEXT_OPEN);
}

void qm_jobs_dispatch(struct qm *qm)
{
	if (qm->stopping || qm->sched.ring == NULL)
		return;
	if (qm_sched_dispatch(&qm->sched, qm_now(), jobs_pick, jobs_give, qm,
	    QM_DISPATCH_MAX) == QM_DISPATCH_MAX)
		qm_kick(qm);
}

/* Destinations whose agents have been missing too long give up. */
static void jobs_noagent(struct qm *qm, time_t now)
{
	for (int k = 0; k < QM_NKINDS; k++) {
		if (qm->nagents_kind[k] > 0) {
			qm->noagent_since[k] = 0;
			continue;
		}
		if (qm->noagent_since[k] == 0)
			qm->noagent_since[k] = now;
		if (now - qm->noagent_since[k] < QM_NOAGENT_GRACE)
			continue;
		for (size_t b = 0; b < qm->sched.tabsize; b++)
			for (struct qm_dest *d = qm->sched.tab[b]; d != NULL;
			    d = d->hnext)
				if ((int)d->kind == k && d->qhead != NULL)
					qm_jobs_defer_dest(qm, d, k ==
					    QM_KIND_LOCAL ? QM_TEXT_LOCAL :
					    QM_TEXT_NOAGENT);
	}
}

void qm_jobs_tick(struct qm *qm, time_t now)
{
	static time_t last_gc;

	jobs_noagent(qm, now);
	qm_agent_tick(qm, now);
	if (now - last_gc >= 10) {
		qm_sched_gc(&qm->sched, now, QM_DEST_IDLE);
		last_gc = now;
	}
}
