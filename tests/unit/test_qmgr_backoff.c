/* Unit tests for queue/qmgr_backoff.c: the doubling delay between
 * retry_min and retry_max, its bounds and overflow, and the start-up
 * estimate of attempts from a message's age (it must agree with the
 * schedule the delays produce). */
#include <criterion/criterion.h>

#include "queue/qmgr.h"

Test(qmgr_backoff, doubles_from_min_up_to_max)
{
	unsigned want[] = { 300, 600, 1200, 2400, 4800, 9600, 14400, 14400 };

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(qm_backoff(i + 1, 300, 14400), want[i],
		    "attempt %u: %u", i + 1, qm_backoff(i + 1, 300, 14400));
}

Test(qmgr_backoff, bounds_and_odd_input)
{
	cr_assert_eq(qm_backoff(0, 300, 14400), 300);
	cr_assert_eq(qm_backoff(1, 1, 1), 1);
	cr_assert_eq(qm_backoff(1000000, 1, 4000000000u), 4000000000u);
	cr_assert_eq(qm_backoff(UINT32_MAX, 31536000, 31536000), 31536000);
	cr_assert_eq(qm_backoff(3, 500, 100), 100, "min above max: max wins");
	cr_assert_eq(qm_backoff(40, 3, 7), 7);
}

/* The age at which attempt k starts when every attempt runs on time. */
static uint64_t start_of(unsigned k, unsigned rmin, unsigned rmax)
{
	uint64_t t = 0;

	for (unsigned i = 1; i < k; i++)
		t += qm_backoff(i, rmin, rmax);
	return t;
}

Test(qmgr_backoff, age_estimate_agrees_with_the_schedule)
{
	static const unsigned mins[] = { 1, 60, 300 }, maxs[] = { 1, 3600,
	    14400 };

	for (unsigned a = 0; a < 3; a++)
		for (unsigned b = 0; b < 3; b++) {
			unsigned rmin = mins[a], rmax = maxs[b];

			if (rmin > rmax)
				continue;
			for (unsigned k = 1; k < 60; k++) {
				uint64_t t = start_of(k, rmin, rmax);

				cr_assert_eq(qm_attempts_from_age(t, rmin,
				    rmax), k, "min %u max %u attempt %u at %llu",
				    rmin, rmax, k, (unsigned long long)t);
				if (t > 0)
					cr_assert_eq(qm_attempts_from_age(t - 1,
					    rmin, rmax), k - 1);
			}
		}
}

Test(qmgr_backoff, age_estimate_is_bounded)
{
	/* A year at one second: no loop of 31 million steps, and capped. */
	unsigned k = qm_attempts_from_age(UINT64_MAX / 2, 1, 1);

	cr_assert(k > 1000 && k <= 1000001, "%u", k);
	cr_assert_eq(qm_attempts_from_age(0, 300, 14400), 1);
	cr_assert_eq(qm_attempts_from_age(299, 300, 14400), 1);
	cr_assert_eq(qm_attempts_from_age(300, 300, 14400), 2);
}
