/* Unit tests for queue/dsn.c: the RFC 3464 / RFC 6522 report — its
 * structure, every field, failed and delayed reports, and hostile input
 * (huge diagnostics, CR/LF/controls in remote text, originals without
 * headers or with 8-bit, NUL or boundary-like headers, many recipients).
 * Every report is checked to be CRLF-only, 7-bit and within 998 bytes per
 * line.  tests/system/test_dsn_format.py parses them with Python. */
#include <criterion/criterion.h>

#include "queue/dsn.h"
#include "lib/date.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1764160000
#define SEED "0612C8FE9D046001"
#define BOUNDARY "=_" SEED ".1764160000"

static const char plain_orig[] =
    "Received: from client.example ([192.0.2.1])\r\n"
    "\tby mx.test.example; Wed, 26 Nov 2025 10:00:00 +0000\r\n"
    "From: Alice <alice@example.test>\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "the body must not come back\r\n";

struct fixture {
	struct queue_msg m;
	struct dsn_params p;
	struct dsn_rcpt r[2];
	struct buf out;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->m.qid = 0x0612C8FE9D046000ULL;
	f->m.arrival_us = (uint64_t)(NOW - 3600) * 1000000 + 123456;
	f->m.sender = (char *)"alice@example.test";
	f->p.reporting_mta = "mx.test.example";
	f->p.boundary_seed = SEED;
	f->p.now = NOW;
	f->p.action = DSN_FAILED;
	f->p.max_returned = 65536;
	f->r[0] = (struct dsn_rcpt){ "bob@example.net", "5.1.1",
	    "mx.example.net", "550 5.1.1 <bob@example.net>: no such user",
	    NOW - 60, 0 };
	f->r[1] = (struct dsn_rcpt){ "carol@example.org", "5.4.4", NULL, NULL,
	    0, 0 };
	buf_init(&f->out, 0);
}

static int build(struct fixture *f, const char *orig, size_t len, size_t n)
{
	int rc = dsn_build(&f->out, &f->m, orig, len, f->r, n, &f->p);

	buf_cstr(&f->out);
	return rc;
}

/* CRLF only, no control bytes but TAB, lines <= 998, 7-bit (unless
 * allow8), and exactly `parts` part delimiters plus the closing one. */
static void assert_wellformed(const struct buf *b, int allow8, int parts)
{
	size_t i, col = 0, delims = 0;
	const char *p;

	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c == '\r') {
			cr_assert(i + 1 < b->len && b->data[i + 1] == '\n',
			    "bare CR at %zu", i);
			i++;
			col = 0;
			continue;
		}
		cr_assert_neq(c, '\n', "bare LF at %zu", i);
		cr_assert(c >= 0x20 || c == '\t', "control byte %#x at %zu", c, i);
		cr_assert(c != 0x7f, "DEL at %zu", i);
		cr_assert(allow8 || c < 0x80, "8-bit byte at %zu", i);
		cr_assert_leq(++col, 998, "line longer than 998 at %zu", i);
	}
	cr_assert(b->len >= 2 && b->data[b->len - 1] == '\n');
	for (p = b->data; (p = strstr(p, "\r\n--" BOUNDARY)) != NULL; p += 4)
		delims++;
	cr_assert_eq(delims, (size_t)parts + 1, "%zu delimiters", delims);
	cr_assert_not_null(strstr(b->data, "\r\n--" BOUNDARY "--\r\n"));
}

/* The body of part i (0-based): from after its blank line to the next
 * delimiter, NUL-terminated copy (free it). */
static char *part(const struct buf *b, int i, char **headers)
{
	const char *p = b->data, *end, *body;
	char *out;
	int k;

	for (k = 0; k <= i; k++) {
		p = strstr(p, "\r\n--" BOUNDARY "\r\n");
		cr_assert_not_null(p, "no part %d", i);
		p += strlen("\r\n--" BOUNDARY "\r\n");
	}
	body = strstr(p, "\r\n\r\n");
	cr_assert_not_null(body);
	body += 4;
	end = strstr(body - 2, "\r\n--" BOUNDARY);
	cr_assert_not_null(end);
	if (headers != NULL)
		*headers = strndup(p, (size_t)(body - p));
	out = xmalloc((size_t)(end - body) + 1);
	memcpy(out, body, (size_t)(end - body));
	out[end - body] = '\0';
	return out;
}

/* Count of a substring. */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

/* Undo quoted-printable (soft breaks, =XX). */
static char *qp_decode(const char *s, size_t *len)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t n = 0;

	while (*s != '\0') {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=') {
			unsigned v;

			cr_assert_eq(sscanf(s + 1, "%2X", &v), 1, "bad QP %.8s", s);
			out[n++] = (char)v;
			s += 3;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	*len = n;
	return out;
}

Test(dsn, top_level_headers)
{
	struct fixture f;
	char date[64];

	fixture_init(&f);
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 2), 0);
	assert_wellformed(&f.out, 0, 3);
	cr_assert(strncmp(f.out.data, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.test.example>\r\n", 60) == 0, "%s", f.out.data);
	cr_assert_not_null(strstr(f.out.data, "\r\nTo: <alice@example.test>\r\n"));
	cr_assert_not_null(strstr(f.out.data,
	    "\r\nSubject: Undelivered Mail Returned to Sender\r\n"));
	date_rfc5322(NOW, date, sizeof(date));
	cr_assert_not_null(strstr(f.out.data, date));
	cr_assert_not_null(strstr(f.out.data, "\r\nMessage-ID: <" SEED "."));
	cr_assert_not_null(strstr(f.out.data, "\r\nMIME-Version: 1.0\r\n"));
	cr_assert_not_null(strstr(f.out.data,
	    "\r\nAuto-Submitted: auto-replied\r\n"));
	cr_assert_not_null(strstr(f.out.data, "\r\nContent-Type: "
	    "multipart/report; report-type=delivery-status;\r\n\tboundary=\""
	    BOUNDARY "\"\r\n"));
	cr_assert_eq(count(f.out.data, "\r\nContent-Type: multipart/report"), 1);
	buf_free(&f.out);
}

Test(dsn, three_parts_in_order)
{
	struct fixture f;
	char *h0, *h1, *h2, *b0, *b1, *b2;

	fixture_init(&f);
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 2), 0);
	b0 = part(&f.out, 0, &h0);
	b1 = part(&f.out, 1, &h1);
	b2 = part(&f.out, 2, &h2);
	cr_assert_not_null(strstr(h0, "Content-Type: text/plain; "
	    "charset=us-ascii\r\n"), "%s", h0);
	cr_assert_not_null(strstr(h1, "Content-Type: message/delivery-status"
	    "\r\n"), "%s", h1);
	cr_assert_not_null(strstr(h2, "Content-Type: text/rfc822-headers\r\n"),
	    "%s", h2);
	cr_assert_not_null(strstr(b0, "mx.test.example"));
	cr_assert_not_null(strstr(b0, "\r\n<bob@example.net>: host "
	    "mx.example.net said: 550 5.1.1 <bob@example.net>: no\r\n    such "
	    "user\r\n"), "%s", b0);
	cr_assert_not_null(strstr(b0, "<carol@example.org>: delivery failed "
	    "(status 5.4.4)"), "%s", b0);
	/* The headers come back exactly, the body does not. */
	cr_assert_str_eq(b2, "Received: from client.example ([192.0.2.1])\r\n"
	    "\tby mx.test.example; Wed, 26 Nov 2025 10:00:00 +0000\r\n"
	    "From: Alice <alice@example.test>\r\nSubject: hello\r\n");
	cr_assert_null(strstr(f.out.data, "the body must not come back"));
	free(h0), free(h1), free(h2), free(b0), free(b1), free(b2);
	buf_free(&f.out);
}

Test(dsn, delivery_status_fields)
{
	struct fixture f;
	char arrival[64], last[64], *s;

	fixture_init(&f);
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 2), 0);
	s = part(&f.out, 1, NULL);
	date_rfc5322(NOW - 3600, arrival, sizeof(arrival));
	date_rfc5322(NOW - 60, last, sizeof(last));
	cr_assert(strncmp(s, "Reporting-MTA: dns; mx.test.example\r\n", 37) == 0,
	    "%s", s);
	cr_assert_not_null(strstr(s, "X-Queue-ID: 0612C8FE9D046000\r\n"));
	cr_assert_not_null(strstr(s, "\r\nArrival-Date: "));
	cr_assert_not_null(strstr(s, arrival));
	cr_assert_not_null(strstr(s, "\r\n\r\nFinal-Recipient: rfc822; "
	    "bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
	    "Remote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; 550 "
	    "5.1.1 <bob@example.net>: no such user\r\nLast-Attempt-Date: "), "%s",
	    s);
	cr_assert_not_null(strstr(s, last));
	/* Unknown remote, diagnostic and attempt time: omitted, not empty. */
	cr_assert_not_null(strstr(s, "\r\n\r\nFinal-Recipient: rfc822; "
	    "carol@example.org\r\nAction: failed\r\nStatus: 5.4.4\r\n"), "%s", s);
	cr_assert_eq(count(s, "Remote-MTA:"), 1);
	cr_assert_eq(count(s, "Diagnostic-Code:"), 1);
	cr_assert_eq(count(s, "Last-Attempt-Date:"), 1);
	cr_assert_null(strstr(s, "Will-Retry-Until"));
	cr_assert_eq(count(s, "\r\n\r\n"), 2, "one block per recipient");
	free(s);
	buf_free(&f.out);
}

Test(dsn, delay_warning)
{
	struct fixture f;
	char until[64], *s, *t;

	fixture_init(&f);
	f.p.action = DSN_DELAYED;
	f.r[0].status = "4.4.1";
	f.r[0].will_retry_until = NOW + 4 * 86400;
	f.r[1].status = "4.2.2";
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 2), 0);
	assert_wellformed(&f.out, 0, 3);
	cr_assert_not_null(strstr(f.out.data,
	    "\r\nSubject: Delayed Mail (still being retried)\r\n"));
	cr_assert_not_null(strstr(f.out.data, ".delay@mx.test.example>"));
	s = part(&f.out, 1, NULL);
	date_rfc5322(NOW + 4 * 86400, until, sizeof(until));
	cr_assert_eq(count(s, "Action: delayed\r\n"), 2);
	cr_assert_null(strstr(s, "Action: failed"));
	cr_assert_eq(count(s, "Will-Retry-Until: "), 1, "%s", s);
	cr_assert_not_null(strstr(s, until));
	t = part(&f.out, 0, NULL);
	cr_assert_not_null(strstr(t, "do not need to send"), "%s", t);
	cr_assert_not_null(strstr(t, until), "the text says until when");
	free(s);
	free(t);
	buf_free(&f.out);
}

Test(dsn, message_ids_differ_between_failed_and_delayed)
{
	struct fixture f, g;
	const char *a, *b;

	fixture_init(&f);
	fixture_init(&g);
	g.p.action = DSN_DELAYED;
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), 0);
	cr_assert_eq(build(&g, plain_orig, strlen(plain_orig), 1), 0);
	a = strstr(f.out.data, "Message-ID: ");
	b = strstr(g.out.data, "Message-ID: ");
	cr_assert(strncmp(a, b, (size_t)(strchr(a, '\r') - a)) != 0);
	buf_free(&f.out);
	buf_free(&g.out);
}

Test(dsn, bad_status_codes_fall_back)
{
	static const char *const bad[] = { NULL, "", "550", "5.1", "6.1.1",
		"5.1.1 x", "5.1111.1", "5..1", "5.1.1\r\nX: y", "4.1.a" };
	struct fixture f;
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		fixture_init(&f);
		f.r[0].status = bad[i];
		cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), 0);
		assert_wellformed(&f.out, 0, 3);
		cr_assert_not_null(strstr(f.out.data, "\r\nStatus: 5.0.0\r\n"),
		    "%s", bad[i] ? bad[i] : "NULL");
		buf_free(&f.out);
	}
}

Test(dsn, refuses_what_it_cannot_report)
{
	struct fixture f;

	fixture_init(&f);
	buf_puts(&f.out, "keep");
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 0), -EINVAL);
	f.m.sender = (char *)"";
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), -EINVAL,
	    "no report for the null sender");
	f.m.sender = (char *)"alice@example.test";
	f.p.reporting_mta = NULL;
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), -EINVAL);
	f.p.reporting_mta = "mx.test.example";
	f.r[0].addr = NULL;
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), -EINVAL);
	f.r[0].addr = "bob@example.net";
	cr_assert_eq(dsn_build(&f.out, &f.m, NULL, 5, f.r, 1, &f.p), -EINVAL);
	cr_assert_eq(f.out.len, 4, "nothing appended on error");
	buf_free(&f.out);
}

Test(dsn, output_limit_appends_nothing)
{
	struct fixture f;

	fixture_init(&f);
	buf_free(&f.out);
	buf_init(&f.out, 512);
	buf_puts(&f.out, "keep");
	cr_assert_eq(dsn_build(&f.out, &f.m, plain_orig, strlen(plain_orig),
	    f.r, 2, &f.p), -EMSGSIZE);
	cr_assert_eq(f.out.len, 4);
	buf_free(&f.out);
}

Test(dsn, huge_diagnostic_is_cut_and_folded)
{
	size_t n = 200000, i;
	char *diag = xmalloc(n + 1), *s;
	struct fixture f;

	for (i = 0; i < n; i++)
		diag[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
	memcpy(diag, "550 ", 4);
	diag[n] = '\0';
	fixture_init(&f);
	f.r[0].diagnostic = diag;
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), 0);
	assert_wellformed(&f.out, 0, 3);
	cr_assert_lt(f.out.len, 20000, "the diagnostic was not bounded");
	s = part(&f.out, 1, NULL);
	cr_assert_not_null(strstr(s, "Diagnostic-Code: smtp; 550 "));
	cr_assert_not_null(strstr(s, "[...]"), "the cut is marked");
	free(s);
	buf_free(&f.out);
	/* One word with no space to fold at: cut into lines anyway. */
	memset(diag, 'x', n);
	fixture_init(&f);
	f.r[0].diagnostic = diag;
	f.r[0].remote_mta = diag;
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), 0);
	assert_wellformed(&f.out, 0, 3);
	buf_free(&f.out);
	free(diag);
}

Test(dsn, remote_text_cannot_inject_lines)
{
	struct fixture f;
	char *s, *t;

	fixture_init(&f);
	f.r[0].diagnostic = "550 bad\r\nX-Injected: yes\r\n\r\nFinal-Recipient: "
	    "rfc822; evil@example\rbare CR\nbare LF\ttab\x1b[31mansi\x7f\x01"
	    "\xc3\xa9t\xe9";
	f.r[0].remote_mta = "mx.example\r\nX-Host-Injected: 1";
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 2), 0);
	assert_wellformed(&f.out, 0, 3);
	cr_assert_null(strstr(f.out.data, "\r\nX-Injected"));
	cr_assert_null(strstr(f.out.data, "\r\nX-Host-Injected"));
	cr_assert_null(strstr(f.out.data, "\x1b"));
	s = part(&f.out, 1, NULL);
	cr_assert_eq(count(s, "\r\nFinal-Recipient:"), 2, "%s", s);
	cr_assert_not_null(strstr(s, "Diagnostic-Code: smtp; 550 bad X-Injected: "
	    "yes Final-Recipient:"), "%s", s);
	cr_assert_not_null(strstr(s, "Remote-MTA: dns; mx.example "
	    "X-Host-Injected: 1\r\n"), "%s", s);
	t = part(&f.out, 0, NULL);
	cr_assert_null(strstr(t, "\r\nX-Injected"));
	free(s);
	free(t);
	buf_free(&f.out);
}

Test(dsn, original_without_headers)
{
	static const char body_only[] = "\r\njust a body\r\n";
	struct fixture f;
	char *t;

	fixture_init(&f);
	cr_assert_eq(build(&f, body_only, strlen(body_only), 1), 0);
	assert_wellformed(&f.out, 0, 2);
	cr_assert_null(strstr(f.out.data, "text/rfc822-headers"));
	cr_assert_null(strstr(f.out.data, "just a body"));
	t = part(&f.out, 0, NULL);
	cr_assert_null(strstr(t, "headers of your message"));
	free(t);
	buf_free(&f.out);
	fixture_init(&f);
	cr_assert_eq(build(&f, "", 0, 1), 0, "an empty original");
	assert_wellformed(&f.out, 0, 2);
	buf_free(&f.out);
	fixture_init(&f);
	cr_assert_eq(dsn_build(&f.out, &f.m, NULL, 0, f.r, 1, &f.p), 0);
	buf_free(&f.out);
}

Test(dsn, headers_only_original_and_max_returned)
{
	static const char no_body[] = "Subject: a\r\nX-A: 1\r\nX-B: 2\r\n";
	struct fixture f;
	char *h;

	fixture_init(&f);
	cr_assert_eq(build(&f, no_body, strlen(no_body), 1), 0);
	h = part(&f.out, 2, NULL);
	cr_assert_str_eq(h, no_body);
	free(h);
	buf_free(&f.out);
	/* Cut at the last whole line within the bound. */
	fixture_init(&f);
	f.p.max_returned = 24;
	cr_assert_eq(build(&f, no_body, strlen(no_body), 1), 0);
	assert_wellformed(&f.out, 0, 3);
	h = part(&f.out, 2, NULL);
	cr_assert_str_eq(h, "Subject: a\r\nX-A: 1\r\n");
	free(h);
	buf_free(&f.out);
	fixture_init(&f);
	f.p.max_returned = 0;
	cr_assert_eq(build(&f, no_body, strlen(no_body), 1), 0);
	assert_wellformed(&f.out, 0, 2);
	buf_free(&f.out);
}

/* Headers that are not plain 7-bit come back quoted-printable, intact. */
static void check_qp_roundtrip(const char *orig, size_t len, size_t hlen)
{
	struct fixture f;
	char *hdr, *body, *dec;
	size_t n;

	fixture_init(&f);
	cr_assert_eq(build(&f, orig, len, 1), 0);
	assert_wellformed(&f.out, 0, 3);
	body = part(&f.out, 2, &hdr);
	cr_assert_not_null(strstr(hdr, "Content-Transfer-Encoding: "
	    "quoted-printable\r\n"), "%s", hdr);
	dec = qp_decode(body, &n);
	cr_assert_eq(n, hlen, "decoded %zu, want %zu", n, hlen);
	cr_assert(memcmp(dec, orig, hlen) == 0);
	free(dec);
	free(body);
	free(hdr);
	buf_free(&f.out);
}

Test(dsn, eight_bit_nul_and_bare_lf_headers_are_quoted_printable)
{
	static const char utf8[] = "Subject: caf\xc3\xa9 \xe2\x82\xac\r\n"
	    "From: J\xc3\xb6rg <j@example.test>\r\n\r\nbody\r\n";
	static const char nul[] = "Subject: a\0b\r\nX-Lf: bare\nlf\r\n"
	    "X-Cr: bare\rcr \r\nX-Eq: a=b \t\r\n\r\nbody";

	check_qp_roundtrip(utf8, strlen(utf8), strlen(utf8) - 8);
	check_qp_roundtrip(nul, sizeof(nul) - 1, sizeof(nul) - 1 - 6);
}

Test(dsn, long_header_lines_are_quoted_printable)
{
	size_t n = 5000;
	char *orig = xmalloc(n + 16);

	memcpy(orig, "X-Long: ", 8);
	memset(orig + 8, 'y', n - 8);
	memcpy(orig + n, "\r\n\r\nbody", 8);
	check_qp_roundtrip(orig, n + 8, n + 2);
	free(orig);
}

Test(dsn, boundary_like_headers_cannot_end_a_part)
{
	static const char spoof[] = "Subject: x\r\n--" BOUNDARY "\r\n"
	    "--" BOUNDARY "--\r\n-- x\r\n\r\nbody";
	struct fixture f;

	fixture_init(&f);
	cr_assert_eq(build(&f, spoof, strlen(spoof), 1), 0);
	assert_wellformed(&f.out, 0, 3);
	check_qp_roundtrip(spoof, strlen(spoof), strlen(spoof) - 6);
	buf_free(&f.out);
}

Test(dsn, utf8_recipient_uses_rfc6533_xtext)
{
	struct fixture f;
	char *s, *t, *hdr, *dec;
	size_t n;

	fixture_init(&f);
	f.r[0].addr = "j\xc3\xb6rg+x=y@b\xc3\xbc" "cher.example";
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), 0);
	assert_wellformed(&f.out, 0, 3);
	s = part(&f.out, 1, NULL);
	cr_assert_not_null(strstr(s, "Final-Recipient: utf-8; j\\x{F6}rg\\x{2B}x"
	    "\\x{3D}y@b\\x{FC}cher.example\r\n"), "%s", s);
	t = part(&f.out, 0, &hdr);
	cr_assert_not_null(strstr(hdr, "charset=utf-8\r\n"), "%s", hdr);
	cr_assert_not_null(strstr(hdr, "quoted-printable"), "%s", hdr);
	dec = qp_decode(t, &n);
	cr_assert_not_null(strstr(dec, "<j\xc3\xb6rg+x=y@b\xc3\xbc" "cher"
	    ".example>:"), "%s", dec);
	free(dec);
	free(hdr);
	free(t);
	free(s);
	buf_free(&f.out);
}

Test(dsn, utf8_sender_is_the_only_8bit)
{
	struct fixture f;

	fixture_init(&f);
	f.m.sender = (char *)"\xc3\xa9ric@example.test";
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), 0);
	assert_wellformed(&f.out, 1, 3);
	cr_assert_not_null(strstr(f.out.data, "\r\nTo: <\xc3\xa9ric@example.test>"
	    "\r\n"));
	cr_assert_eq(count(f.out.data, "\xc3"), 1, "only the To: header");
	cr_assert_not_null(strstr(f.out.data, "X-Sender: utf-8; \\x{E9}ric@"));
	buf_free(&f.out);
}

Test(dsn, many_recipients)
{
	size_t n = 1000, i;
	struct dsn_rcpt *r = xcalloc(n, sizeof(*r));
	char (*addr)[64] = xcalloc(n, sizeof(*addr));
	struct fixture f;
	char *s;

	fixture_init(&f);
	for (i = 0; i < n; i++) {
		snprintf(addr[i], sizeof(addr[i]), "user%zu@example.net", i);
		r[i].addr = addr[i];
		r[i].status = "5.1.1";
		r[i].remote_mta = "mx.example.net";
		r[i].diagnostic = "550 5.1.1 unknown user";
		r[i].last_attempt = NOW;
	}
	cr_assert_eq(dsn_build(&f.out, &f.m, plain_orig, strlen(plain_orig), r,
	    n, &f.p), 0);
	buf_cstr(&f.out);
	assert_wellformed(&f.out, 0, 3);
	s = part(&f.out, 1, NULL);
	cr_assert_eq(count(s, "Final-Recipient: rfc822; user"), n);
	cr_assert_not_null(strstr(s, "user999@example.net"));
	free(s);
	free(addr);
	free(r);
	buf_free(&f.out);
}

Test(dsn, hostile_host_and_seed_are_cleaned)
{
	struct fixture f;

	fixture_init(&f);
	f.p.reporting_mta = "mx.example\r\nBcc: victim@example";
	f.p.boundary_seed = "\"; x=\r\n";
	cr_assert_eq(build(&f, plain_orig, strlen(plain_orig), 1), 0);
	cr_assert_null(strstr(f.out.data, "\r\nBcc:"));
	cr_assert_not_null(strstr(f.out.data, "boundary=\"=_x.1764160000\""));
	buf_free(&f.out);
}
