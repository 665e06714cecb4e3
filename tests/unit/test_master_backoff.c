/* Unit tests for master_backoff: the restart delay schedule of crashed
 * daemons (1 s doubling to 60 s, reset after 60 s of healthy running). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "master/master.h"

struct backoff_case {
	unsigned prev;
	long long ran_ms;
	unsigned want;
};

ParameterizedTestParameters(master_backoff, schedule)
{
	static struct backoff_case cases[] = {
		{ 0, 0, 1 },		/* first crash */
		{ 0, 500, 1 },
		{ 1, 100, 2 },		/* crash loop doubles */
		{ 2, 100, 4 },
		{ 4, 100, 8 },
		{ 8, 100, 16 },
		{ 16, 100, 32 },
		{ 32, 100, 60 },	/* capped */
		{ 60, 100, 60 },
		{ 60, 59999, 60 },	/* not yet healthy */
		{ 60, 60000, 1 },	/* healthy for 60 s: start over */
		{ 8, 3600000, 1 },
	};

	return cr_make_param_array(struct backoff_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct backoff_case *c, master_backoff, schedule)
{
	cr_assert_eq(master_backoff_next(c->prev, c->ran_ms), c->want,
	    "prev %u ran %lld ms: want %u, got %u", c->prev, c->ran_ms,
	    c->want, master_backoff_next(c->prev, c->ran_ms));
}

Test(master_backoff, crash_loop_reaches_cap_and_stays)
{
	unsigned d = 0, i;

	for (i = 0; i < 20; i++)
		d = master_backoff_next(d, 10);
	cr_assert_eq(d, MASTER_BACKOFF_MAX);
}
