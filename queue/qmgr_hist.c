/* qmgr_hist: what the queue manager remembers about deferred messages
 * while they wait on disk: the attempt count (for the back-off), whether
 * the delay warning went out, and the last error (mtactl queue).  Bounded
 * to QM_HIST_MAX entries; when full the oldest entry is forgotten and its
 * message falls back to the estimate from its age.  Lost at restart. */
#include "queue/qmgr.h"
#include "lib/mem.h"

#include <stdlib.h>

#define HIST_BUCKETS 65536u

static uint32_t hist_bucket(uint64_t qid)
{
	return (uint32_t)((qid * 0x9E3779B97F4A7C15ull) >> 48) &
	    (HIST_BUCKETS - 1);
}

struct qm_hist *qm_hist_get(struct qm *qm, uint64_t qid)
{
	uint32_t i;

	if (qm->hbuckets == NULL || qid == 0)
		return NULL;
	for (i = qm->hbuckets[hist_bucket(qid)]; i != 0;
	    i = qm->hist[i - 1].hnext)
		if (qm->hist[i - 1].qid == qid)
			return &qm->hist[i - 1];
	return NULL;
}

/* Unlink slot i (0-based) from its chain and clear it. */
static void hist_unlink(struct qm *qm, size_t i)
{
	struct qm_hist *h = &qm->hist[i];
	uint32_t *pp = &qm->hbuckets[hist_bucket(h->qid)];

	while (*pp != 0 && *pp != i + 1)
		pp = &qm->hist[*pp - 1].hnext;
	if (*pp == i + 1)
		*pp = h->hnext;
	free(h->lasterr);
	memset(h, 0, sizeof(*h));
}

struct qm_hist *qm_hist_put(struct qm *qm, uint64_t qid)
{
	struct qm_hist *h = qm_hist_get(qm, qid);
	size_t i;

	if (h != NULL || qid == 0)
		return h;
	if (qm->hbuckets == NULL)
		qm->hbuckets = xcalloc(HIST_BUCKETS, sizeof(*qm->hbuckets));
	if (qm->nhist < QM_HIST_MAX) {
		if (qm->nhist == qm->histcap) {
			qm->histcap = qm->histcap ? qm->histcap * 2 : 1024;
			if (qm->histcap > QM_HIST_MAX)
				qm->histcap = QM_HIST_MAX;
			qm->hist = xreallocarray(qm->hist, qm->histcap,
			    sizeof(*qm->hist));
		}
		i = qm->nhist++;
		memset(&qm->hist[i], 0, sizeof(qm->hist[i]));
	} else {
		/* Full: a nearby free slot, else the oldest (round robin). */
		for (size_t k = 0; k < 64; k++) {
			i = (qm->hist_next + k) % qm->nhist;
			if (qm->hist[i].qid == 0)
				break;
		}
		if (qm->hist[i].qid != 0) {
			i = qm->hist_next;
			hist_unlink(qm, i);
		}
		qm->hist_next = (i + 1) % qm->nhist;
	}
	h = &qm->hist[i];
	h->qid = qid;
	h->hnext = qm->hbuckets[hist_bucket(qid)];
	qm->hbuckets[hist_bucket(qid)] = (uint32_t)(i + 1);
	return h;
}

void qm_hist_del(struct qm *qm, uint64_t qid)
{
	struct qm_hist *h = qm_hist_get(qm, qid);

	if (h != NULL)
		hist_unlink(qm, (size_t)(h - qm->hist));
}
