/* Unit tests for bench/loadgen_stats.c: nearest-rank percentiles over the
 * kept samples, reply classes per stage, and what makes a run fail. */
#include <criterion/criterion.h>

#include "bench/loadgen_stats.h"

Test(loadgen_stats, percentiles_of_one_to_hundred)
{
	struct loadgen_samples s = { 0 };
	struct loadgen_pct p;

	for (uint32_t i = 100; i >= 1; i--)	/* unsorted input */
		loadgen_samples_add(&s, i);
	loadgen_samples_pct(&s, &p);
	cr_assert_eq(p.n, 100);
	cr_assert_eq(p.p50, 50);
	cr_assert_eq(p.p90, 90);
	cr_assert_eq(p.p99, 99);
	cr_assert_eq(p.max, 100);
	loadgen_samples_free(&s);
}

Test(loadgen_stats, percentiles_of_few_samples)
{
	struct loadgen_samples s = { 0 };
	struct loadgen_pct p;

	loadgen_samples_add(&s, 7);
	loadgen_samples_pct(&s, &p);
	cr_assert(p.p50 == 7 && p.p90 == 7 && p.p99 == 7 && p.max == 7);
	loadgen_samples_add(&s, 3);
	loadgen_samples_add(&s, 1000);
	loadgen_samples_pct(&s, &p);
	cr_assert_eq(p.p50, 7);
	cr_assert_eq(p.p90, 1000);
	cr_assert_eq(p.max, 1000);
	loadgen_samples_free(&s);
}

Test(loadgen_stats, no_samples_gives_zeros)
{
	struct loadgen_samples s = { 0 };
	struct loadgen_pct p;

	loadgen_samples_pct(&s, &p);
	cr_assert(p.n == 0 && p.p50 == 0 && p.max == 0);
}

Test(loadgen_stats, many_samples_grow)
{
	struct loadgen_samples s = { 0 };
	struct loadgen_pct p;

	for (uint32_t i = 0; i < 100000; i++)
		loadgen_samples_add(&s, i % 1000);
	loadgen_samples_pct(&s, &p);
	cr_assert_eq(p.n, 100000);
	cr_assert_eq(p.p50, 499);
	cr_assert_eq(p.p99, 989);
	cr_assert_eq(p.max, 999);
	loadgen_samples_free(&s);
}

Test(loadgen_stats, reply_classes_and_failure)
{
	struct loadgen_stats st = { 0 };

	loadgen_stats_reply(&st, LOADGEN_ST_MAIL, 250);
	loadgen_stats_reply(&st, LOADGEN_ST_DATA, 354);
	loadgen_stats_reply(&st, LOADGEN_ST_QUIT, 421);
	cr_assert_eq(st.replies[LOADGEN_ST_MAIL][2], 1);
	cr_assert_eq(st.replies[LOADGEN_ST_DATA][3], 1);
	cr_assert_not(loadgen_stats_failed(&st), "QUIT replies do not count");
	loadgen_stats_reply(&st, LOADGEN_ST_RCPT, 550);
	cr_assert_eq(st.replies[LOADGEN_ST_RCPT][5], 1);
	cr_assert(loadgen_stats_failed(&st));
}

Test(loadgen_stats, connection_errors_fail)
{
	struct loadgen_stats st = { 0 };

	loadgen_stats_reply(&st, LOADGEN_ST_EOD, 999);
	cr_assert_eq(st.replies[LOADGEN_ST_EOD][0], 1);
	st.replies[LOADGEN_ST_EOD][0] = 0;
	cr_assert_not(loadgen_stats_failed(&st));
	st.conn_errors = 1;
	cr_assert(loadgen_stats_failed(&st));
}
