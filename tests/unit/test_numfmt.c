/* Unit tests for lib/numfmt.c: every function against snprintf with the
 * format it replaces, at the edges (0, widths, the largest values) and on
 * a spread of values between. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/numfmt.h"

static const uint64_t vals[] = {
	0, 1, 9, 10, 15, 16, 99, 100, 255, 256, 4095, 999999999, 1000000000,
	9999999999ull, 0x0123456789ABCDEFull, UINT64_MAX / 3, UINT64_MAX - 1,
	UINT64_MAX,
};

Test(numfmt, hex_matches_printf_and_keeps_the_low_digits)
{
	char got[24], want[24];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		fmt_hex(got, vals[i], 16);
		snprintf(want, sizeof(want), "%016" PRIX64, vals[i]);
		cr_assert_str_eq(got, want);
		fmt_hex(got, vals[i], 2);
		snprintf(want, sizeof(want), "%02X", (unsigned)(vals[i] & 0xff));
		cr_assert_str_eq(got, want);
	}
	memset(got, 'x', sizeof(got));
	fmt_hex(got, 0xABC, 0);
	cr_assert_eq(got[0], '\0', "width 0 writes only the NUL");
}

Test(numfmt, dec_matches_printf)
{
	char got[24], want[24];
	size_t n;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		n = fmt_dec_u64(got, vals[i]);
		snprintf(want, sizeof(want), "%" PRIu64, vals[i]);
		cr_assert_str_eq(got, want);
		cr_assert_eq(n, strlen(want));
		if (vals[i] <= 9999999999ull) {
			fmt_dec(got, vals[i], 10);
			snprintf(want, sizeof(want), "%010" PRIu64, vals[i]);
			cr_assert_str_eq(got, want);
		}
	}
	fmt_dec(got, 12345, 3);
	cr_assert_str_eq(got, "345", "only the low digits fit");
}

Test(numfmt, centi_matches_printf_of_two_decimals)
{
	char got[32], want[32];

	for (uint64_t c = 0; c < 100000; c += 7) {
		size_t n = fmt_centi(got, c);

		snprintf(want, sizeof(want), "%" PRIu64 ".%02u", c / 100,
		    (unsigned)(c % 100));
		cr_assert_str_eq(got, want);
		cr_assert_eq(n, strlen(want));
	}
	fmt_centi(got, 5);
	cr_assert_str_eq(got, "0.05");
	fmt_centi(got, UINT64_MAX);
	snprintf(want, sizeof(want), "%" PRIu64 ".%02u", UINT64_MAX / 100,
	    (unsigned)(UINT64_MAX % 100));
	cr_assert_str_eq(got, want);
}
