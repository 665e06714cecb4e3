/* Unit tests for lib/date.c: RFC 5322 date-times in a fixed zone (TZ set
 * per test), positive, negative and half-hour offsets, a one-digit day,
 * and truncation to the caller's buffer. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/date.h"

static const char *at(const char *tz, time_t t)
{
	static char out[64];

	cr_assert_eq(setenv("TZ", tz, 1), 0);
	tzset();
	date_rfc5322(t, out, sizeof(out));
	return out;
}

Test(date, epoch_in_utc)
{
	cr_assert_str_eq(at("UTC0", 0), "Thu, 1 Jan 1970 00:00:00 +0000");
}

Test(date, one_digit_day_is_not_padded)
{
	cr_assert_str_eq(at("UTC0", 1704412800),
	    "Fri, 5 Jan 2024 00:00:00 +0000");
}

Test(date, half_hour_east_of_utc)
{
	cr_assert_str_eq(at("XST-5:30", 1700000000),
	    "Wed, 15 Nov 2023 03:43:20 +0530");
}

Test(date, west_of_utc_is_negative)
{
	cr_assert_str_eq(at("XST8", 1700000000),
	    "Tue, 14 Nov 2023 14:13:20 -0800");
}

Test(date, truncated_to_the_buffer)
{
	char out[8];

	cr_assert_eq(setenv("TZ", "UTC0", 1), 0);
	tzset();
	date_rfc5322(0, out, sizeof(out));
	cr_assert_str_eq(out, "Thu, 1 ");
}
