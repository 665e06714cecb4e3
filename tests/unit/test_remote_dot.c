/* Unit tests for deliver/remote_dot.c: dot-stuffing of the DATA content,
 * CRLF normalisation of bare CR and bare LF (no smuggled end of data), a
 * missing last line end, the terminator, and that encoding in small
 * pieces gives the same bytes as encoding at once. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "deliver/remote_dot.h"
#include "lib/buf.h"
#include "lib/mem.h"

static char *stuff(const char *in, size_t len, size_t piece)
{
	struct buf out;
	size_t off = 0;
	int rc, rounds = 0;

	buf_init(&out, 0);
	while ((rc = remote_dot_stuff(in, len, &off, &out, piece)) == 0)
		cr_assert_lt(++rounds, 100000, "no progress");
	cr_assert_eq(rc, 1);
	buf_cstr(&out);
	return out.data;
}

struct dot_case {
	char in[64];
	char out[80];
};

ParameterizedTestParameters(remote_dot, encodes)
{
	static struct dot_case t[] = {
		{ "", ".\r\n" },
		{ "a\r\n", "a\r\n.\r\n" },
		{ "a", "a\r\n.\r\n" },
		{ ".\r\n", "..\r\n.\r\n" },
		{ ".a\r\n..b\r\nc.d\r\n", "..a\r\n...b\r\nc.d\r\n.\r\n" },
		{ "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n" },
		{ "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n" },
		{ "a\r.\rb\r", "a\r\n..\r\nb\r\n.\r\n" },
		{ "a\r\n\r\n.", "a\r\n\r\n..\r\n.\r\n" },
		{ "x\n\r.y", "x\r\n\r\n..y\r\n.\r\n" },
		{ "\r\n.\r\n", "\r\n..\r\n.\r\n" },
	};
	return cr_make_param_array(struct dot_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct dot_case *tc, remote_dot, encodes)
{
	for (size_t piece = 1; piece < 10; piece++) {
		char *got = stuff(tc->in, strlen(tc->in), piece);

		cr_assert_str_eq(got, tc->out, "in %s piece %zu", tc->in, piece);
		free(got);
	}
}

Test(remote_dot, pieces_equal_whole_on_random_content)
{
	static const char alphabet[] = "..\r\n\r\nab.\n\r";
	char in[4096];
	unsigned seed = 7;

	for (int round = 0; round < 50; round++) {
		char *whole, *pieces;

		for (size_t i = 0; i < sizeof(in); i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		whole = stuff(in, sizeof(in), 1 << 20);
		pieces = stuff(in, sizeof(in), 1 + (size_t)round % 17);
		cr_assert_str_eq(whole, pieces);
		/* No bare CR or LF, and no line that is a lone dot before the
		 * end. */
		for (char *p = whole; *p; p++) {
			if (*p == '\r')
				cr_assert_eq(p[1], '\n');
			if (*p == '\n')
				cr_assert_eq(p[-1], '\r');
		}
		cr_assert_eq(strstr(whole, "\r\n.\r\n"),
		    whole + strlen(whole) - 5);
		free(whole);
		free(pieces);
	}
}

Test(remote_dot, long_line_is_cut_into_pieces)
{
	size_t n = 100000, off = 0;
	char *in = xmalloc(n);
	struct buf out;

	memset(in, 'x', n);
	in[0] = '.';
	buf_init(&out, 0);
	cr_assert_eq(remote_dot_stuff(in, n, &off, &out, 1000), 0);
	cr_assert_leq(out.len, 1001);
	cr_assert_eq(out.data[0], '.');
	cr_assert_eq(out.data[1], '.');
	while (remote_dot_stuff(in, n, &off, &out, 1000) == 0)
		;
	cr_assert_eq(out.len, n + 1 + 2 + 3);
	buf_free(&out);
	free(in);
}

Test(remote_dot, output_limit_is_reported)
{
	struct buf out;
	size_t off = 0;

	buf_init(&out, 8);
	cr_assert_eq(remote_dot_stuff("abcdefghij\r\n", 12, &off, &out, 100),
	    -EMSGSIZE);
	buf_free(&out);
}
