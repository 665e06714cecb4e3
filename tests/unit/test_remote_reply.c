/* Unit tests for deliver/remote_reply.c and remote_ehlo.c: SMTP replies
 * single and multi-line, fed whole or a byte at a time, several in one
 * read (pipelining), bare LF, enhanced codes, and hostile input: over-long
 * lines, bad codes, a code that changes in a continuation, thousands of
 * lines, control bytes; EHLO keywords and SIZE limits. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "deliver/remote_ehlo.h"
#include "deliver/remote_reply.h"
#include "lib/buf.h"
#include "lib/mem.h"

/* Feed all of s (in pieces of step bytes); count complete replies, stop at
 * an error.  The last reply stays in rp->r. */
static int feed(struct remote_rparse *rp, const char *s, size_t step,
    int *replies)
{
	size_t n = strlen(s), off = 0;

	*replies = 0;
	while (off < n) {
		size_t k = n - off < step ? n - off : step, used = 0;
		int rc;

		while (k > 0) {
			rc = remote_reply_feed(rp, s + off, k, &used);
			if (rc < 0)
				return rc;
			off += used;
			k -= used;
			if (rc == 1)
				(*replies)++;
		}
	}
	return 0;
}

static int parse(struct remote_rparse *rp, const char *s, size_t step)
{
	int n = 0;

	memset(rp, 0, sizeof(*rp));
	remote_reply_init(rp);
	return feed(rp, s, step, &n) < 0 ? -1 : n;
}

Test(remote_reply, single_line_with_enhanced_code)
{
	struct remote_rparse rp;

	cr_assert_eq(parse(&rp, "250 2.1.5 Ok recipient\r\n", 1000), 1);
	cr_assert_eq(rp.r.code, 250);
	cr_assert_str_eq(rp.r.dsn, "2.1.5");
	cr_assert_str_eq(rp.r.text, "250 2.1.5 Ok recipient");
	cr_assert_eq(rp.r.nlines, 1);
}

Test(remote_reply, multi_line_joined_byte_by_byte)
{
	static const char *in = "550-5.1.1 first\r\n550-5.1.1 second\r\n"
	    "550 5.1.1 third\r\n";
	struct remote_rparse rp;

	for (size_t step = 1; step < 8; step++) {
		cr_assert_eq(parse(&rp, in, step), 1);
		cr_assert_eq(rp.r.code, 550);
		cr_assert_eq(rp.r.nlines, 3);
		cr_assert_str_eq(rp.r.dsn, "5.1.1");
		cr_assert_str_eq(rp.r.text,
		    "550 5.1.1 first 5.1.1 second 5.1.1 third");
	}
}

Test(remote_reply, pipelined_replies_in_one_read)
{
	struct remote_rparse rp;
	const char *in = "250 ok\r\n250 2.1.5 ok\r\n451 4.3.0 later\r\n"
	    "354 go\r\n";
	int n;

	memset(&rp, 0, sizeof(rp));
	remote_reply_init(&rp);
	cr_assert_eq(feed(&rp, in, 1000, &n), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(rp.r.code, 354);
	cr_assert_str_eq(rp.r.text, "354 go");
	cr_assert_str_eq(rp.r.dsn, "");
}

Test(remote_reply, bare_lf_and_bare_code_lines)
{
	struct remote_rparse rp;

	cr_assert_eq(parse(&rp, "220-hello\n220\n", 1000), 1);
	cr_assert_eq(rp.r.code, 220);
	cr_assert_eq(rp.r.nlines, 2);
	cr_assert_str_eq(rp.r.text, "220 hello");
}

Test(remote_reply, incomplete_reply_needs_more)
{
	struct remote_rparse rp;

	cr_assert_eq(parse(&rp, "250-one\r\n250 tw", 1000), 0);
}

Test(remote_reply, overlong_line_is_a_protocol_error)
{
	struct remote_rparse rp;
	char *big = xmalloc(5000);

	memset(big, 'x', 4998);
	memcpy(big, "250 ", 4);
	memcpy(big + 4998, "\n", 2);
	cr_assert_eq(parse(&rp, big, 1000), -1);
	cr_assert_str_eq(rp.why, "reply line too long");
	/* Without a line end at all, a byte at a time. */
	big[4998] = '\0';
	cr_assert_eq(parse(&rp, big, 1), -1);
	/* Exactly at the limit (CRLF included) is fine. */
	memset(big, 'y', REMOTE_REPLY_LINE_MAX);
	memcpy(big, "250 ", 4);
	memcpy(big + REMOTE_REPLY_LINE_MAX - 2, "\r\n", 3);
	cr_assert_eq(parse(&rp, big, 7), 1);
	cr_assert_eq(rp.r.textlen, REMOTE_TEXT_MAX);
	free(big);
}

struct bad_case {
	char in[32];
};

ParameterizedTestParameters(remote_reply, malformed)
{
	static struct bad_case bad[] = {
		{ "hello\r\n" }, { "25\r\n" }, { "2500 x\r\n" }, { "250x\r\n" },
		{ "160 x\r\n" }, { "600 x\r\n" }, { "260 x\r\n" },
		{ "abc def\r\n" }, { "\r\n" }, { "250-a\r\n251 b\r\n" },
		{ "250-a\r\n550 b\r\n" }, { " 250 x\r\n" },
		{ "250-a\r\nxyz\r\n" },
	};
	return cr_make_param_array(struct bad_case, bad, ARRAY_LEN(bad));
}

ParameterizedTest(struct bad_case *tc, remote_reply, malformed)
{
	struct remote_rparse rp;

	cr_assert_eq(parse(&rp, tc->in, 1000), -1, "%s", tc->in);
	cr_assert_not_null(rp.why);
}

Test(remote_reply, thousands_of_lines_are_refused)
{
	struct remote_rparse rp;
	struct buf b;
	int n;

	buf_init(&b, 0);
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, "250-PIPELINING\r\n");
	buf_puts(&b, "250 OK\r\n");
	memset(&rp, 0, sizeof(rp));
	remote_reply_init(&rp);
	cr_assert_eq(feed(&rp, buf_cstr(&b), 4096, &n), -EPROTO);
	cr_assert_str_eq(rp.why, "too many reply lines");
	buf_free(&b);
	/* ... while REMOTE_REPLY_LINES_MAX lines are fine, text cut. */
	buf_init(&b, 0);
	for (int i = 0; i < REMOTE_REPLY_LINES_MAX - 1; i++)
		buf_puts(&b, "250-0123456789\r\n");
	buf_puts(&b, "250 end\r\n");
	cr_assert_eq(parse(&rp, buf_cstr(&b), 333), 1);
	cr_assert_eq(rp.r.nlines, REMOTE_REPLY_LINES_MAX);
	cr_assert_eq(rp.r.textlen, REMOTE_TEXT_MAX);
	cr_assert_eq(strlen(rp.r.text), REMOTE_TEXT_MAX);
	buf_free(&b);
}

Test(remote_reply, control_and_8bit_bytes_become_printable)
{
	struct remote_rparse rp;
	const char in[] = "554 bad\x01\x1b[31m\xff\x80 x\r\n";

	cr_assert_eq(parse(&rp, in, 1000), 1);
	cr_assert_str_eq(rp.r.text, "554 bad??[31m?? x");
	/* A NUL inside the line is a byte like any other. */
	memset(&rp, 0, sizeof(rp));
	remote_reply_init(&rp);
	{
		size_t used;

		cr_assert_eq(remote_reply_feed(&rp, "250 a\0b\r\n", 9, &used),
		    1);
		cr_assert_eq(used, 9);
		cr_assert_str_eq(rp.r.text, "250 a?b");
	}
}

Test(remote_reply, enhanced_code_must_match_the_class)
{
	char dsn[REMOTE_DSN_MAX];

	cr_assert_eq(remote_reply_dsn("5.7.1 no", 8, 5, dsn), 1);
	cr_assert_str_eq(dsn, "5.7.1");
	cr_assert_eq(remote_reply_dsn("4.7.1 no", 8, 5, dsn), 0);
	cr_assert_str_eq(dsn, "");
	cr_assert_eq(remote_reply_dsn("5.123.123", 9, 5, dsn), 1);
	cr_assert_eq(remote_reply_dsn("5.1234.1 x", 10, 5, dsn), 0);
	cr_assert_eq(remote_reply_dsn("5.1.1x", 6, 5, dsn), 0);
	cr_assert_eq(remote_reply_dsn("5..1 x", 6, 5, dsn), 0);
	cr_assert_eq(remote_reply_dsn("5.1", 3, 5, dsn), 0);
}

/* --- EHLO keywords ------------------------------------------------------- */

static void ehlo_line(void *arg, const char *text, size_t n, unsigned lineno)
{
	remote_ehlo_line(arg, text, n, lineno);
}

static struct remote_ehlo ehlo_of(const char *reply)
{
	struct remote_rparse rp;
	struct remote_ehlo e;
	int n;

	remote_ehlo_reset(&e);
	memset(&rp, 0, sizeof(rp));
	rp.line_fn = ehlo_line;
	rp.line_arg = &e;
	remote_reply_init(&rp);
	cr_assert_eq(feed(&rp, reply, 1000, &n), 0);
	cr_assert_eq(n, 1);
	return e;
}

Test(remote_ehlo, keywords_any_case)
{
	struct remote_ehlo e = ehlo_of("250-mx.example PIPELINING\r\n"
	    "250-pipelining\r\n250-8bitmime\r\n250-SIZE 1000\r\n"
	    "250-SmtpUtf8\r\n250-STARTTLS\r\n250 CHUNKING\r\n");

	cr_assert_eq(e.ext, REMOTE_EXT_PIPELINING | REMOTE_EXT_8BITMIME |
	    REMOTE_EXT_SIZE | REMOTE_EXT_SMTPUTF8 | REMOTE_EXT_STARTTLS);
	cr_assert_eq(e.size, 1000);
}

Test(remote_ehlo, greeting_line_is_not_a_keyword)
{
	struct remote_ehlo e = ehlo_of("250 PIPELINING\r\n");

	cr_assert_eq(e.ext, 0);
}

Test(remote_ehlo, size_without_or_with_bad_limit_means_none)
{
	struct remote_ehlo e = ehlo_of("250-x\r\n250 SIZE\r\n");

	cr_assert_eq(e.ext, REMOTE_EXT_SIZE);
	cr_assert_eq(e.size, 0);
	e = ehlo_of("250-x\r\n250 SIZE 12ab\r\n");
	cr_assert_eq(e.size, 0);
	e = ehlo_of("250-x\r\n250 SIZE 99999999999999999999999\r\n");
	cr_assert_eq(e.size, 0);
	e = ehlo_of("250-x\r\n250 SIZE 0\r\n");
	cr_assert_eq(e.size, 0);
	e = ehlo_of("250-x\r\n250 SIZE   52428800  \r\n");
	cr_assert_eq(e.size, 52428800);
}

Test(remote_ehlo, lookalike_keywords_do_not_count)
{
	struct remote_ehlo e = ehlo_of("250-x\r\n250-PIPELININGX\r\n"
	    "250-XSTARTTLS\r\n250-8BITMIMEX\r\n250 STARTTLSx\r\n");

	cr_assert_eq(e.ext, 0);
}
