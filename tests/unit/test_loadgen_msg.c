/* Unit tests for bench/loadgen_msg.c: the generated message has the RFC
 * 5322 headers, unique Message-IDs, CRLF lines of at most 78 bytes, the
 * exact requested size, and dot-stuffing doubles a leading '.'. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "bench/loadgen_msg.h"

static void build(struct buf *b, unsigned long seq, size_t size)
{
	struct loadgen_msg m = {
		.seq = seq, .pid = 4242, .start = 1700000000,
		.date = "Thu, 26 Nov 2026 13:40:00 +0000",
		.from = "a@example.test", .to = "rcpt@localhost", .size = size,
	};

	buf_init(b, 0);
	cr_assert_eq(loadgen_msg_build(b, &m), 0);
}

/* The value of header name (with ": ") in b, into out. */
static int header(struct buf *b, const char *name, char *out, size_t n)
{
	const char *s = buf_cstr(b), *end = strstr(s, "\r\n\r\n");
	size_t nl = strlen(name);

	while (s && s < end) {
		const char *eol = strstr(s, "\r\n");

		if (strncmp(s, name, nl) == 0 && s[nl] == ':') {
			snprintf(out, n, "%.*s", (int)(eol - s - nl - 2),
			    s + nl + 2);
			return 1;
		}
		s = eol + 2;
	}
	return 0;
}

Test(loadgen_msg, has_the_rfc5322_headers)
{
	struct buf b;
	char v[256];

	build(&b, 7, 1024);
	cr_assert(header(&b, "From", v, sizeof(v)));
	cr_assert_str_eq(v, "<a@example.test>");
	cr_assert(header(&b, "To", v, sizeof(v)));
	cr_assert_str_eq(v, "<rcpt@localhost>");
	cr_assert(header(&b, "Subject", v, sizeof(v)));
	cr_assert(header(&b, "Date", v, sizeof(v)));
	cr_assert_str_eq(v, "Thu, 26 Nov 2026 13:40:00 +0000");
	cr_assert(header(&b, "Message-ID", v, sizeof(v)));
	cr_assert_str_eq(v, "<7.4242.1700000000@loadgen>");
	buf_free(&b);
}

Test(loadgen_msg, message_ids_are_unique)
{
	char seen[1000][64];

	for (unsigned long i = 0; i < 1000; i++) {
		struct buf b;

		build(&b, i + 1, 300);
		cr_assert(header(&b, "Message-ID", seen[i], sizeof(seen[i])));
		for (unsigned long k = 0; k < i; k++)
			cr_assert_str_neq(seen[i], seen[k]);
		buf_free(&b);
	}
}

Test(loadgen_msg, every_size_is_exact_with_short_crlf_lines)
{
	for (size_t size = 200; size < 1200; size++) {
		struct buf b;
		size_t i, start = 0;

		build(&b, 1, size);
		cr_assert_eq(b.len, size, "size %zu gave %zu", size, b.len);
		for (i = 0; i < b.len; i++) {
			if (b.data[i] == '\r') {
				cr_assert_eq(b.data[i + 1], '\n');
				cr_assert_leq(i + 2 - start, LOADGEN_LINE_MAX);
				start = i + 2;
				i++;
			} else
				cr_assert_neq(b.data[i], '\n', "bare LF");
		}
		cr_assert_eq(start, b.len, "ends with CRLF");
		buf_free(&b);
	}
}

Test(loadgen_msg, large_size_is_exact)
{
	struct buf b;

	build(&b, 1, 1 << 20);
	cr_assert_eq(b.len, 1 << 20);
	buf_free(&b);
}

Test(loadgen_msg, size_below_headers_gives_headers_only)
{
	struct buf b;

	build(&b, 1, 10);
	cr_assert_gt(b.len, 10);
	cr_assert_eq(memcmp(b.data + b.len - 4, "\r\n\r\n", 4), 0);
	buf_free(&b);
}

Test(loadgen_msg, some_body_lines_start_with_a_dot)
{
	struct buf b;

	build(&b, 1, 20000);
	cr_assert_not_null(strstr(buf_cstr(&b), "\r\n."));
	buf_free(&b);
}

/* Inline strings: Criterion copies parameters into its workers. */
struct stuff_case {
	char in[32], out[40];
};

ParameterizedTestParameters(loadgen_msg, dot_stuffing)
{
	static struct stuff_case cases[] = {
		{ "a\r\n", "a\r\n.\r\n" },
		{ ".a\r\n", "..a\r\n.\r\n" },
		{ "x\r\n.\r\n", "x\r\n..\r\n.\r\n" },
		{ "x\r\n..y\r\nz.\r\n", "x\r\n...y\r\nz.\r\n.\r\n" },
		{ "", ".\r\n" },
		{ "no-eol", "no-eol\r\n.\r\n" },
	};

	return cr_make_param_array(struct stuff_case, cases, ARRAY_LEN(cases));
}

ParameterizedTest(struct stuff_case *c, loadgen_msg, dot_stuffing)
{
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(loadgen_msg_stuff(&b, c->in, strlen(c->in)), 0);
	cr_assert_str_eq(buf_cstr(&b), c->out);
	buf_free(&b);
}

Test(loadgen_msg, stuffing_a_built_message_round_trips)
{
	struct buf b, s;
	size_t i, o = 0;

	build(&b, 3, 30000);
	buf_init(&s, 0);
	cr_assert_eq(loadgen_msg_stuff(&s, b.data, b.len), 0);
	/* unstuff: drop one leading dot per line, stop at ".\r\n" */
	for (i = 0; i < s.len - 3; ) {
		const char *eol = memchr(s.data + i, '\n', s.len - i);
		size_t n = (size_t)(eol - (s.data + i)) + 1;
		size_t skip = s.data[i] == '.';

		cr_assert_eq(memcmp(s.data + i + skip, b.data + o, n - skip), 0);
		o += n - skip;
		i += n;
	}
	cr_assert_eq(o, b.len);
	cr_assert_eq(memcmp(s.data + s.len - 3, ".\r\n", 3), 0);
	buf_free(&b);
	buf_free(&s);
}

Test(loadgen_msg, recipients_and_domains)
{
	char r[128];

	cr_assert_eq(loadgen_msg_rcpt(r, sizeof(r), "rcpt@localhost", 0, 1, 0,
	    5), 0);
	cr_assert_str_eq(r, "rcpt@localhost");
	loadgen_msg_rcpt(r, sizeof(r), "rcpt@localhost", 2, 3, 0, 5);
	cr_assert_str_eq(r, "rcpt3@localhost");
	loadgen_msg_rcpt(r, sizeof(r), "rcpt@localhost", 0, 1, 10, 12);
	cr_assert_str_eq(r, "rcpt@d3.example.test");
	loadgen_msg_rcpt(r, sizeof(r), "u@x", 1, 2, 4, 1);
	cr_assert_str_eq(r, "u2@d4.example.test");
	cr_assert_eq(loadgen_msg_rcpt(r, 8, "rcpt@localhost", 0, 1, 0, 1),
	    -ENAMETOOLONG);
}
