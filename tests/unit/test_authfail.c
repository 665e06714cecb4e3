/* Unit tests for lib/authfail, the failed-login table of pop3d and smtpd
 * AUTH: the limit within the window, expiry, the bounded table. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>

#include "lib/authfail.h"

Test(authfail, blocks_after_the_limit_until_the_window_passes)
{
	struct authfail t;

	authfail_init(&t, 4, 2, 60);
	for (int i = 0; i < 3; i++) {
		cr_assert_not(authfail_blocked(&t, "10.0.0.1", 100));
		authfail_record(&t, "10.0.0.1", 100 + (uint64_t)i);
	}
	cr_assert(authfail_blocked(&t, "10.0.0.1", 110));
	cr_assert_not(authfail_blocked(&t, "10.0.0.2", 110));
	cr_assert(authfail_blocked(&t, "10.0.0.1", 159));
	cr_assert_not(authfail_blocked(&t, "10.0.0.1", 160));
	authfail_free(&t);
}

Test(authfail, table_is_bounded_oldest_evicted)
{
	struct authfail t;
	char ip[32];

	authfail_init(&t, 4, 0, 600);
	authfail_record(&t, "1.1.1.1", 1);
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "2.2.2.%d", i);
		authfail_record(&t, ip, 10 + (uint64_t)i);
		cr_assert_leq(t.n, 4);
	}
	cr_assert_not(authfail_blocked(&t, "1.1.1.1", 30));
	cr_assert(authfail_blocked(&t, "2.2.2.9", 30));
	authfail_free(&t);
}

Test(authfail, window_starts_again_after_expiry)
{
	struct authfail t;

	authfail_init(&t, 8, 1, 10);
	authfail_record(&t, "::1", 100);
	authfail_record(&t, "::1", 101);
	cr_assert(authfail_blocked(&t, "::1", 105));
	cr_assert_not(authfail_blocked(&t, "::1", 110));
	authfail_record(&t, "::1", 111);
	cr_assert_not(authfail_blocked(&t, "::1", 112), "one failure only");
	authfail_free(&t);
}
