/* Unit tests for queue/qmgr_sched.c: slow start (2, +1 per success up to
 * destination_concurrency, back to 1 after a connection failure), dead
 * destinations after QM_DEAD_FAILS failures and their revival, round-robin
 * fairness (a destination with a long queue cannot starve the others, and
 * one that found no free agent goes first next time), the agent kinds, and
 * the clean-up of idle destinations.  Agents are fakes with a slot count. */
#include <criterion/criterion.h>

#include <stdio.h>

#include "lib/mem.h"
#include "queue/qmgr.h"

struct fake {
	struct qm_agent agent[QM_NKINDS];	/* one per kind */
	unsigned slots[QM_NKINDS], used[QM_NKINDS];
	struct qm_job *given[256];
	size_t ngiven;
};

static struct qm_agent *pick(void *ctx, enum qm_kind kind)
{
	struct fake *f = ctx;

	return f->used[kind] < f->slots[kind] ? &f->agent[kind] : NULL;
}

static void give(void *ctx, struct qm_job *j, struct qm_agent *a)
{
	struct fake *f = ctx;

	f->used[a == &f->agent[QM_KIND_LOCAL] ? QM_KIND_LOCAL :
	    QM_KIND_REMOTE]++;
	j->agent = a;
	cr_assert(f->ngiven < 256);
	f->given[f->ngiven++] = j;
}

static struct qm_job *job(struct qm_sched *s, const char *key, uint64_t id)
{
	struct qm_job *j = xcalloc(1, sizeof(*j));

	j->id = id;
	qm_dest_push(s, qm_dest_get(s, key, strcmp(key, "local") == 0 ?
	    QM_KIND_LOCAL : QM_KIND_REMOTE), j);
	return j;
}

static void free_given(struct fake *f)
{
	for (size_t i = 0; i < f->ngiven; i++)
		free(f->given[i]);
	f->ngiven = 0;
}

/* The jobs still queued at d. */
static void free_queued(struct qm_sched *s, struct qm_dest *d)
{
	while (d->qhead != NULL) {
		struct qm_job *j = d->qhead;

		qm_dest_remove(s, d, j);
		free(j);
	}
}

Test(qmgr_sched, slow_start_grows_and_falls)
{
	struct qm_sched s;
	struct fake f = { .slots = { 1000, 1000 } };
	struct qm_dest *d;

	qm_sched_init(&s, 4, 60);
	for (int i = 0; i < 20; i++)
		job(&s, "mx:a", (uint64_t)i);
	d = qm_dest_get(&s, "mx:a", QM_KIND_REMOTE);
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 2);
	cr_assert_eq(d->inflight, 2);
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 0);
	qm_dest_done(&s, d, QM_OUT_OK, 100);
	cr_assert_eq(d->limit, 3);
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 2);
	qm_dest_done(&s, d, QM_OUT_OK, 100);
	qm_dest_done(&s, d, QM_OUT_OK, 100);
	cr_assert_eq(d->limit, 4, "capped at destination_concurrency");
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 3);
	cr_assert_eq(d->inflight, 4);
	/* A remote 4xx after connecting changes nothing. */
	qm_dest_done(&s, d, QM_OUT_OTHER, 100);
	cr_assert_eq(d->limit, 4);
	cr_assert_eq(qm_dest_done(&s, d, QM_OUT_CONNFAIL, 100), 0);
	cr_assert_eq(d->limit, 1);
	cr_assert_eq(d->inflight, 2);
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 0);
	free_given(&f);
	free_queued(&s, d);
	qm_sched_free(&s);
}

Test(qmgr_sched, dead_after_failures_then_one_probe)
{
	struct qm_sched s;
	struct fake f = { .slots = { 1000, 1000 } };
	struct qm_dest *d;

	qm_sched_init(&s, 10, 30);
	for (int i = 0; i < 10; i++)
		job(&s, "mx:dead", (uint64_t)i);
	d = qm_dest_get(&s, "mx:dead", QM_KIND_REMOTE);
	_Static_assert(QM_DEAD_FAILS == 3, "the test counts three failures");
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 2);
	cr_assert_eq(qm_dest_done(&s, d, QM_OUT_CONNFAIL, 100), 0);
	cr_assert_eq(qm_dest_done(&s, d, QM_OUT_CONNFAIL, 100), 0);
	cr_assert_eq(d->limit, 1);
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 1);
	cr_assert_eq(qm_dest_done(&s, d, QM_OUT_CONNFAIL, 100), 1,
	    "dead at the third failure in a row");
	cr_assert_eq(d->dead_until, 130);
	cr_assert(!qm_dest_ready(&s, d, 129));
	cr_assert_eq(qm_sched_dispatch(&s, 129, pick, give, &f, 1000), 0);
	/* Alive again: one probe at a time; a success resets it. */
	cr_assert(qm_dest_ready(&s, d, 130));
	cr_assert_eq(qm_sched_dispatch(&s, 130, pick, give, &f, 1000), 1);
	cr_assert_eq(qm_dest_done(&s, d, QM_OUT_CONNFAIL, 131), 1,
	    "a failed probe kills it again at once");
	cr_assert_eq(d->dead_until, 161);
	cr_assert_eq(qm_sched_dispatch(&s, 161, pick, give, &f, 1000), 1);
	cr_assert_eq(qm_dest_done(&s, d, QM_OUT_OK, 162), 0);
	cr_assert_eq(d->fails, 0);
	cr_assert_eq(d->dead_until, 0);
	cr_assert_eq(d->limit, 2);
	free_given(&f);
	free_queued(&s, d);
	qm_sched_free(&s);
}

Test(qmgr_sched, round_robin_one_job_per_destination_per_turn)
{
	struct qm_sched s;
	struct fake f = { .slots = { 1000, 1000 } };
	const char *want[] = { "mx:big", "mx:small", "mx:other", "mx:big",
	    "mx:small", "mx:other", "mx:big", "mx:other", "mx:big", "mx:big" };
	struct qm_dest *dests[3];

	qm_sched_init(&s, 100, 60);
	for (int i = 0; i < 100; i++)
		job(&s, "mx:big", (uint64_t)i);
	job(&s, "mx:small", 1000);
	job(&s, "mx:small", 1001);
	job(&s, "mx:other", 2000);
	job(&s, "mx:other", 2001);
	job(&s, "mx:other", 2002);
	dests[0] = qm_dest_get(&s, "mx:big", QM_KIND_REMOTE);
	dests[1] = qm_dest_get(&s, "mx:small", QM_KIND_REMOTE);
	dests[2] = qm_dest_get(&s, "mx:other", QM_KIND_REMOTE);
	for (int i = 0; i < 3; i++)
		dests[i]->limit = 100;	/* past slow start */
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 10), 10);
	for (size_t i = 0; i < 10; i++)
		cr_assert_str_eq(f.given[i]->dest->key, want[i], "job %zu", i);
	free_given(&f);
	while (dests[0]->qhead != NULL) {
		struct qm_job *j = dests[0]->qhead;

		qm_dest_remove(&s, dests[0], j);
		free(j);
	}
	qm_sched_free(&s);
}

Test(qmgr_sched, a_destination_without_a_free_agent_goes_first_next_time)
{
	struct qm_sched s;
	struct fake f = { .slots = { 1, 1 } };
	char seen[16] = "";

	qm_sched_init(&s, 100, 60);
	for (int i = 0; i < 4; i++)
		job(&s, "mx:a", (uint64_t)i);
	for (int i = 0; i < 2; i++)
		job(&s, "mx:b", (uint64_t)(10 + i));
	/* One slot: a, then (the slot freed) b, a, b, a, a. */
	for (int round = 0; round < 6; round++) {
		cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 100),
		    1);
		seen[round] = f.given[f.ngiven - 1]->dest->key[3];
		qm_dest_done(&s, f.given[f.ngiven - 1]->dest, QM_OUT_OK, 100);
		f.used[QM_KIND_REMOTE] = 0;
	}
	cr_assert_str_eq(seen, "ababaa");
	free_given(&f);
	qm_sched_free(&s);
}

Test(qmgr_sched, kinds_are_served_by_their_own_agents)
{
	struct qm_sched s;
	struct fake f = { .slots = { 0, 5 } };	/* no remote agent */

	qm_sched_init(&s, 100, 60);
	job(&s, "mx:a", 1);
	job(&s, "local", 2);
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 100), 1);
	cr_assert_str_eq(f.given[0]->dest->key, "local");
	cr_assert_eq(f.given[0]->agent, &f.agent[QM_KIND_LOCAL]);
	f.slots[QM_KIND_REMOTE] = 1;
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 100), 1);
	cr_assert_str_eq(f.given[1]->dest->key, "mx:a");
	free_given(&f);
	qm_sched_free(&s);
}

Test(qmgr_sched, local_is_bounded_by_agent_slots_not_destination_concurrency)
{
	struct qm_sched s;
	struct fake f = { .slots = { 0, 50 } };	/* local agents only */
	struct qm_dest *d;

	qm_sched_init(&s, 20, 60);
	for (int i = 0; i < 60; i++)
		job(&s, "local", (uint64_t)i);
	d = qm_dest_get(&s, "local", QM_KIND_LOCAL);
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 50,
	    "no slow start, no destination_concurrency: every free slot");
	cr_assert_eq(d->inflight, 50);
	/* A failure of one delivery neither shrinks nor kills it. */
	for (int i = 0; i < 5; i++)
		cr_assert_eq(qm_dest_done(&s, d, QM_OUT_CONNFAIL, 100), 0);
	cr_assert(qm_dest_ready(&s, d, 100));
	f.slots[QM_KIND_LOCAL] = 55;
	cr_assert_eq(qm_sched_dispatch(&s, 100, pick, give, &f, 1000), 5);
	free_given(&f);
	free_queued(&s, d);
	qm_sched_free(&s);
}

Test(qmgr_sched, idle_destinations_are_forgotten_dead_ones_kept)
{
	struct qm_sched s;
	struct fake f = { .slots = { 10, 10 } };
	struct qm_dest *d;
	char key[32];

	qm_sched_init(&s, 3, 60);
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "mx:d%d", i);
		qm_dest_get(&s, key, QM_KIND_REMOTE)->idle_since = 100;
	}
	cr_assert_eq(s.ndest, 200);
	job(&s, "mx:busy", 1);
	d = qm_dest_get(&s, "mx:dead", QM_KIND_REMOTE);
	d->dead_until = 1000;
	qm_sched_gc(&s, 500, 300);
	cr_assert_eq(s.ndest, 2);
	cr_assert_eq(qm_dest_get(&s, "mx:dead", QM_KIND_REMOTE), d);
	cr_assert_eq(qm_sched_dispatch(&s, 500, pick, give, &f, 100), 1);
	free_given(&f);
	qm_sched_free(&s);
}
