/* qmgr_sched: destinations (one per NEXTHOP string) and the round-robin
 * dispatcher.  Each destination queues its jobs FIFO and limits its jobs
 * in flight: slow start from min(2, destination_concurrency), one more per
 * successful job, back to 1 after a connection-level failure, and "dead"
 * for dead_secs after QM_DEAD_FAILS such failures in a row.  Those limits
 * spare remote servers; the local destination has no server to spare, so
 * only the local agents' free slots (local_concurrency each) bound it.
 * Destinations with queued jobs form a ring served one job each per turn,
 * so a slow destination never starves the others.  Pure: agents are
 * reached through callbacks, so the order and the limits are unit-tested. */
#include "queue/qmgr.h"
#include "lib/mem.h"

#include <limits.h>
#include <stdlib.h>

static uint64_t sched_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

void qm_sched_init(struct qm_sched *s, unsigned conc_max, unsigned dead_secs)
{
	memset(s, 0, sizeof(*s));
	s->conc_max = conc_max ? conc_max : 1;
	s->dead_secs = dead_secs;
	s->tabsize = 64;
	s->tab = xcalloc(s->tabsize, sizeof(*s->tab));
}

static void dest_free(struct qm_dest *d)
{
	free(d->key);
	free(d->last_err);
	free(d);
}

void qm_sched_free(struct qm_sched *s)
{
	for (size_t i = 0; i < s->tabsize; i++)
		while (s->tab[i] != NULL) {
			struct qm_dest *d = s->tab[i];

			s->tab[i] = d->hnext;
			dest_free(d);
		}
	free(s->tab);
	memset(s, 0, sizeof(*s));
}

static void sched_grow(struct qm_sched *s)
{
	size_t nsize = s->tabsize * 2;
	struct qm_dest **nt = xcalloc(nsize, sizeof(*nt));

	for (size_t i = 0; i < s->tabsize; i++)
		while (s->tab[i] != NULL) {
			struct qm_dest *d = s->tab[i];
			size_t b = sched_hash(d->key) & (nsize - 1);

			s->tab[i] = d->hnext;
			d->hnext = nt[b];
			nt[b] = d;
		}
	free(s->tab);
	s->tab = nt;
	s->tabsize = nsize;
}

struct qm_dest *qm_dest_get(struct qm_sched *s, const char *key,
    enum qm_kind kind)
{
	size_t b = sched_hash(key) & (s->tabsize - 1);
	struct qm_dest *d;

	for (d = s->tab[b]; d != NULL; d = d->hnext)
		if (strcmp(d->key, key) == 0)
			return d;
	if (s->ndest >= s->tabsize) {
		sched_grow(s);
		b = sched_hash(key) & (s->tabsize - 1);
	}
	d = xcalloc(1, sizeof(*d));
	d->key = xstrdup(key);
	d->kind = kind;
	if (kind == QM_KIND_LOCAL)
		d->limit = UINT_MAX;
	else
		d->limit = s->conc_max < 2 ? s->conc_max : 2;
	d->hnext = s->tab[b];
	s->tab[b] = d;
	s->ndest++;
	return d;
}

static void ring_add(struct qm_sched *s, struct qm_dest *d)
{
	if (d->in_ring)
		return;
	d->in_ring = 1;
	if (s->ring == NULL) {
		d->rnext = d->rprev = d;
		s->ring = d;
		return;
	}
	/* Just before the next one served: last in this rotation. */
	d->rnext = s->ring;
	d->rprev = s->ring->rprev;
	d->rprev->rnext = d;
	s->ring->rprev = d;
}

static void ring_del(struct qm_sched *s, struct qm_dest *d)
{
	if (!d->in_ring)
		return;
	d->in_ring = 0;
	if (d->rnext == d) {
		s->ring = NULL;
	} else {
		d->rprev->rnext = d->rnext;
		d->rnext->rprev = d->rprev;
		if (s->ring == d)
			s->ring = d->rnext;
	}
	d->rnext = d->rprev = NULL;
}

void qm_dest_push(struct qm_sched *s, struct qm_dest *d, struct qm_job *j)
{
	j->next = NULL;
	j->dest = d;
	if (d->qtail != NULL)
		d->qtail->next = j;
	else
		d->qhead = j;
	d->qtail = j;
	d->nqueued++;
	ring_add(s, d);
}

void qm_dest_remove(struct qm_sched *s, struct qm_dest *d, struct qm_job *j)
{
	struct qm_job **pp = &d->qhead, *prev = NULL;

	while (*pp != NULL && *pp != j) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == NULL)
		return;
	*pp = j->next;
	if (d->qtail == j)
		d->qtail = prev;
	j->next = NULL;
	d->nqueued--;
	if (d->nqueued == 0)
		ring_del(s, d);
}

static struct qm_job *dest_pop(struct qm_sched *s, struct qm_dest *d)
{
	struct qm_job *j = d->qhead;

	d->qhead = j->next;
	if (d->qhead == NULL)
		d->qtail = NULL;
	j->next = NULL;
	if (--d->nqueued == 0)
		ring_del(s, d);
	return j;
}

int qm_dest_done(struct qm_sched *s, struct qm_dest *d, enum qm_outcome o,
    time_t now)
{
	if (d->inflight > 0)
		d->inflight--;
	d->idle_since = now;
	if (d->kind == QM_KIND_LOCAL)
		return 0;
	switch (o) {
	case QM_OUT_OK:
		d->fails = 0;
		d->dead_until = 0;
		if (d->limit < s->conc_max)
			d->limit++;
		return 0;
	case QM_OUT_OTHER:
		d->fails = 0;
		d->dead_until = 0;
		return 0;
	case QM_OUT_CONNFAIL:
	default:
		d->limit = 1;
		if (++d->fails < QM_DEAD_FAILS || d->dead_until > now)
			return 0;
		d->dead_until = now + (time_t)s->dead_secs;
		return 1;
	}
}

int qm_dest_ready(const struct qm_sched *s, const struct qm_dest *d,
    time_t now)
{
	(void)s;
	if (d->dead_until > now)
		return 0;
	return d->inflight < d->limit;
}

unsigned qm_sched_dispatch(struct qm_sched *s, time_t now, qm_pick_fn pick,
    qm_give_fn give, void *ctx, unsigned max)
{
	struct qm_dest *resume = NULL;
	unsigned given = 0;

	while (s->ring != NULL && given < max) {
		unsigned got = 0;
		size_t visits = 0;
		struct qm_dest *d;

		/* One pass: every destination of the ring once. */
		for (d = s->ring; d != NULL; d = d->rnext) {
			visits++;
			if (d->rnext == s->ring)
				break;
		}
		while (visits-- > 0 && s->ring != NULL && given < max) {
			struct qm_agent *a;
			struct qm_job *j;

			d = s->ring;
			s->ring = d->rnext;
			if (!qm_dest_ready(s, d, now))
				continue;
			if ((a = pick(ctx, d->kind)) == NULL) {
				/* No agent free: d goes first next time. */
				if (resume == NULL)
					resume = d;
				continue;
			}
			j = dest_pop(s, d);
			d->inflight++;
			d->idle_since = now;
			give(ctx, j, a);
			given++;
			got++;
		}
		if (got == 0)
			break;
	}
	if (resume != NULL && resume->in_ring)
		s->ring = resume;
	return given;
}

void qm_sched_gc(struct qm_sched *s, time_t now, unsigned secs)
{
	for (size_t i = 0; i < s->tabsize; i++) {
		struct qm_dest **pp = &s->tab[i];

		while (*pp != NULL) {
			struct qm_dest *d = *pp;

			if (d->nqueued == 0 && d->inflight == 0 &&
			    d->dead_until <= now &&
			    d->idle_since + (time_t)secs < now) {
				*pp = d->hnext;
				s->ndest--;
				dest_free(d);
			} else {
				pp = &d->hnext;
			}
		}
	}
}
