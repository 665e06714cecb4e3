/* Tests for bench/sink_fault.c: seeded decisions are reproducible and
 * their rates match the percentages over 10,000 draws. */
#include <criterion/criterion.h>
#include <math.h>

#include "bench/sink_fault.h"

#define DRAWS 10000

Test(sink_fault, same_seed_same_decisions)
{
	struct sink_fault a = { .defer_pct = 30 }, b = { .defer_pct = 30 };

	sink_fault_seed(&a, 42);
	sink_fault_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(sink_fault_rcpt(&a), sink_fault_rcpt(&b));
}

Test(sink_fault, zero_and_hundred_are_exact)
{
	struct sink_fault f = { 0 };

	sink_fault_seed(&f, 1);
	for (int i = 0; i < DRAWS; i++) {
		cr_assert_eq(sink_fault_roll(&f, 0), 0);
		cr_assert_eq(sink_fault_roll(&f, 100), 1);
		cr_assert_eq(sink_fault_rcpt(&f), SINK_RCPT_OK);
	}
}

/* Within 2 percentage points of the target (over 4 sigma at 33%). */
static void near(unsigned n, double pct)
{
	double got = 100.0 * n / DRAWS;

	cr_assert(fabs(got - pct) < 2.0, "got %.2f%%, want %.2f%%", got, pct);
}

Test(sink_fault, rcpt_rates_match_percentages)
{
	struct sink_fault f = { .defer_pct = 10, .reject_pct = 25 };
	unsigned n[3] = { 0 };

	sink_fault_seed(&f, 7);
	for (int i = 0; i < DRAWS; i++)
		n[sink_fault_rcpt(&f)]++;
	near(n[SINK_RCPT_DEFER], 10);
	near(n[SINK_RCPT_REJECT], 25);
	near(n[SINK_RCPT_OK], 65);
}

Test(sink_fault, data_rates_match_percentages)
{
	struct sink_fault f = { .drop_pct = 5, .data_reject_pct = 20 };
	unsigned n[3] = { 0 };

	sink_fault_seed(&f, 12345);
	for (int i = 0; i < DRAWS; i++)
		n[sink_fault_data(&f)]++;
	near(n[SINK_DATA_DROP], 5);
	near(n[SINK_DATA_REJECT], 20);
}

Test(sink_fault, roll_rate_matches_for_several_seeds)
{
	for (uint64_t seed = 0; seed < 5; seed++) {
		struct sink_fault f = { 0 };
		unsigned hits = 0;

		sink_fault_seed(&f, seed);
		for (int i = 0; i < DRAWS; i++)
			hits += (unsigned)sink_fault_roll(&f, 33.3);
		near(hits, 33.3);
	}
}
