/* Unit tests for lib/qid.c: IDs strictly increase and follow the clock,
 * qid_seen moves the floor, format/parse round trip, parse rejects junk,
 * and the hash directory is the documented two hex digits. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "lib/mem.h"
#include "lib/qid.h"

Test(qid, next_is_strictly_increasing)
{
	uint64_t prev = qid_next();

	for (int i = 0; i < 200000; i++) {
		uint64_t v = qid_next();

		cr_assert_gt(v, prev, "at %d", i);
		prev = v;
	}
}

Test(qid, next_follows_the_clock_in_microseconds)
{
	struct timespec ts;
	uint64_t v = qid_next(), us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	cr_assert_leq(v >> 12, us);
	cr_assert_gt(v >> 12, us - 5000000, "more than 5 s behind the clock");
}

Test(qid, seen_moves_later_ids_past_it)
{
	uint64_t future = qid_next() + ((uint64_t)3600 * 1000000 << 12);

	qid_seen(future);
	cr_assert_gt(qid_next(), future);
	qid_seen(1);			/* an older value changes nothing */
	cr_assert_gt(qid_next(), future);
}

Test(qid, format_parse_round_trip)
{
	static const uint64_t vals[] = { 0, 1, 0xABCDEF, 0x0123456789ABCDEFull,
		UINT64_MAX };
	char s[QID_LEN + 1];
	uint64_t v;

	for (size_t i = 0; i < ARRAY_LEN(vals); i++) {
		qid_format(vals[i], s);
		cr_assert_eq(strlen(s), QID_LEN);
		cr_assert_eq(qid_parse(s, &v), 0, "%s", s);
		cr_assert_eq(v, vals[i]);
	}
	qid_format(0x0123456789ABCDEFull, s);
	cr_assert_str_eq(s, "0123456789ABCDEF");
	v = qid_next();
	qid_format(v, s);
	for (int i = 0; i < QID_LEN; i++)
		cr_assert(strchr("0123456789ABCDEF", s[i]) != NULL, "%s", s);
}

Test(qid, formatted_ids_sort_like_their_values)
{
	char a[QID_LEN + 1], b[QID_LEN + 1];
	uint64_t x = qid_next(), y = qid_next();

	qid_format(x, a);
	qid_format(y, b);
	cr_assert_lt(strcmp(a, b), 0);
}

struct junk_case {
	char s[24];
};

ParameterizedTestParameters(qid, parse_rejects_junk)
{
	static struct junk_case t[] = {
		{ "" }, { "ABC" }, { "0123456789ABCDE" }, { "0123456789ABCDEF0" },
		{ "0123456789abcdef" }, { "0123456789ABCDEG" },
		{ " 123456789ABCDEF" }, { "0123456789ABCDE " },
		{ "0123456789ABCDEF\n" }, { "-123456789ABCDEF" },
		{ "0x23456789ABCDEF" }, { "01234567\0" "89ABCDEF" },
		{ "../../etc/passwd" }, { "0123456789ABCDE/" },
	};
	return cr_make_param_array(struct junk_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct junk_case *tc, qid, parse_rejects_junk)
{
	uint64_t v = 77;

	cr_assert_eq(qid_parse(tc->s, &v), -EINVAL, "\"%s\"", tc->s);
	cr_assert_eq(v, 77);
}

Test(qid, hash_dir_is_two_hex_digits_of_the_microseconds)
{
	char d[3];

	qid_hash_dir(0x00000000000AB000ull, d);
	cr_assert_str_eq(d, "AB");
	qid_hash_dir(0xFFFFFFFFFFF00FFFull, d);
	cr_assert_str_eq(d, "00");
	qid_hash_dir(qid_next(), d);
	cr_assert_eq(strlen(d), 2);
}

Test(qid, consecutive_ids_spread_over_directories)
{
	char seen[256] = { 0 }, d[3];
	unsigned n = 0, x;

	for (int i = 0; i < 20000; i++) {
		struct timespec ts = { 0, 20000 };

		if (i % 100 == 0)
			nanosleep(&ts, NULL);
		qid_hash_dir(qid_next(), d);
		cr_assert_eq(sscanf(d, "%2X", &x), 1);
		if (!seen[x & 0xff]++)
			n++;
	}
	cr_assert_gt(n, 16, "only %u directories used", n);
}
