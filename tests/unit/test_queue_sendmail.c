/* Unit tests for the sendmail command's parsers: arguments, line endings,
 * the "." line with and without -i, header handling (-t recipients, Bcc
 * removal, added From/Date/Message-ID, Received first), RFC 5322 address
 * lists and envelope addresses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sysexits.h>

#include "lib/date.h"
#include "lib/mem.h"
#include "queue/sendmail.h"

static int parse(struct sendmail_opts *o, const char *const *args)
{
	static char *argv[32];
	char err[256];
	int argc = 0;

	argv[argc++] = (char *)"sendmail";
	for (; *args != NULL; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return sendmail_parse_args(argc, argv, o, err, sizeof(err));
}

Test(sendmail_args, common_flags)
{
	const char *a1[] = { "-t", "-i", "-f", "me@x.test", "-F", "Me", "-odi",
	    "-oem", "-bm", "-C", "/etc/mta.conf", "bob", "carol@y.test",
	    NULL };
	struct sendmail_opts o;

	cr_assert_eq(parse(&o, a1), 0);
	cr_assert(o.extract && o.ignore_dots);
	cr_assert_str_eq(o.sender, "me@x.test");
	cr_assert_str_eq(o.conf, "/etc/mta.conf");
	cr_assert_eq(o.nrcpt, 2);
	cr_assert_str_eq(o.rcpts[0], "bob");
	cr_assert_str_eq(o.rcpts[1], "carol@y.test");
}

Test(sendmail_args, attached_arguments_and_oi)
{
	const char *a[] = { "-oi", "-fme@x.test", "-FFull Name", "--", "-bob",
	    NULL };
	struct sendmail_opts o;

	cr_assert_eq(parse(&o, a), 0);
	cr_assert(o.ignore_dots);
	cr_assert_not(o.extract);
	cr_assert_str_eq(o.sender, "me@x.test");
	cr_assert_eq(o.nrcpt, 1);
	cr_assert_str_eq(o.rcpts[0], "-bob");
}

Test(sendmail_args, options_stop_at_the_first_recipient)
{
	const char *a[] = { "bob", "-t", NULL };
	struct sendmail_opts o;

	cr_assert_eq(parse(&o, a), 0);
	cr_assert_not(o.extract);
	cr_assert_eq(o.nrcpt, 2);
}

Test(sendmail_args, usage_errors)
{
	const char *a1[] = { "-x", NULL }, *a2[] = { "-bs", NULL },
	    *a3[] = { "-f", NULL }, *a4[] = { "-bp", NULL },
	    *a5[] = { "-q", NULL };
	struct sendmail_opts o;

	cr_assert_eq(parse(&o, a1), EX_USAGE);
	cr_assert_eq(parse(&o, a2), EX_USAGE);
	cr_assert_eq(parse(&o, a3), EX_USAGE);
	cr_assert_eq(parse(&o, a4), EX_USAGE);
	cr_assert_eq(parse(&o, a5), EX_USAGE);
}

static struct sendmail_env env = {
	.hostname = "host.example.test", .user = "joe", .uid = 1000,
	.now = 1764150000, .msgid = "<ID.1@host.example.test>",
	.sender = "joe@host.example.test", .limit = 1 << 20,
};

/* Run input through a message with the given flags; the content (NUL-
 * terminated) is returned in m->content and the -t recipients in rc. */
static int run(struct sendmail_msg *m, struct sendmail_rcpts *rc, int t,
    int i, const char *input)
{
	struct sendmail_opts o = { .extract = t, .ignore_dots = i };
	struct buf pending;
	char err[256];
	int r;

	buf_init(&pending, 0);
	sendmail_msg_init(m, &o, env.limit);
	/* Feed in small pieces to exercise line reassembly. */
	for (size_t off = 0; off < strlen(input); off += 3) {
		size_t n = strlen(input) - off < 3 ? strlen(input) - off : 3;

		if ((r = sendmail_msg_feed(m, &pending, input + off, n)) != 0)
			break;
	}
	sendmail_msg_eof(m, &pending);
	buf_free(&pending);
	r = sendmail_msg_finish(m, &env, rc, err, sizeof(err));
	buf_cstr(&m->content);
	return r;
}

/* The content after our Received: header. */
static const char *after_received(struct sendmail_msg *m)
{
	const char *p = m->content.data;

	cr_assert(strncmp(p, "Received: by host.example.test (mta sendmail, "
	    "from userid 1000);\r\n\t", 62) == 0, "%s", p);
	p = strstr(p, "\r\n\t");
	cr_assert_not_null(p);
	p = strstr(p + 3, "\r\n");
	return p + 2;
}

Test(sendmail_msg, lf_becomes_crlf_and_missing_headers_are_added)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;
	char date[64], want[512];

	cr_assert_eq(run(&m, &rc, 0, 0, "Subject: hi\nX-A: 1\r\n\nline\nl2"),
	    0);
	date_rfc5322(env.now, date, sizeof(date));
	snprintf(want, sizeof(want), "Subject: hi\r\nX-A: 1\r\n"
	    "From: joe@host.example.test\r\nDate: %s\r\n"
	    "Message-ID: <ID.1@host.example.test>\r\n\r\nline\r\nl2\r\n", date);
	cr_assert_str_eq(after_received(&m), want);
	cr_assert_eq(rc.n, 0);
	cr_assert_not(m.eightbit);
	sendmail_msg_free(&m);
}

Test(sendmail_msg, existing_headers_are_kept)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;

	cr_assert_eq(run(&m, &rc, 0, 0, "from: a@b\nDATE: x\nMessage-Id: <m>\n"
	    "\nbody\n"), 0);
	cr_assert_str_eq(after_received(&m), "from: a@b\r\nDATE: x\r\n"
	    "Message-Id: <m>\r\n\r\nbody\r\n");
	sendmail_msg_free(&m);
}

Test(sendmail_msg, dot_line_ends_input_without_i)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;
	const char *body;

	cr_assert_eq(run(&m, &rc, 0, 0, "From: a@b\nDate: d\nMessage-ID: <i>\n"
	    "\n..two\n.x\n.\r\nafter\n"), 0);
	body = strstr(after_received(&m), "\r\n\r\n") + 4;
	cr_assert_str_eq(body, "..two\r\n.x\r\n");
	sendmail_msg_free(&m);
}

Test(sendmail_msg, dot_line_is_data_with_i)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;
	const char *body;

	cr_assert_eq(run(&m, &rc, 0, 1, "From: a@b\nDate: d\nMessage-ID: <i>\n"
	    "\nx\n.\nafter\n"), 0);
	body = strstr(after_received(&m), "\r\n\r\n") + 4;
	cr_assert_str_eq(body, "x\r\n.\r\nafter\r\n");
	sendmail_msg_free(&m);
}

Test(sendmail_msg, t_extracts_recipients_and_removes_bcc)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;
	const char *c;

	cr_assert_eq(run(&m, &rc, 1, 0, "To: \"Doe, J.\" <jd@x.test>, "
	    "plain@y.test\nCc: team: a@z.test, (boss) b@z.test;,\n"
	    " local\nBcc: hidden@s.test,\n\tother@s.test\nSubject: s\n\nb\n"),
	    0);
	cr_assert_eq(rc.n, 7);
	cr_assert_str_eq(rc.v[0], "jd@x.test");
	cr_assert_str_eq(rc.v[1], "plain@y.test");
	cr_assert_str_eq(rc.v[2], "a@z.test");
	cr_assert_str_eq(rc.v[3], "b@z.test");
	cr_assert_str_eq(rc.v[4], "local@host.example.test");
	cr_assert_str_eq(rc.v[5], "hidden@s.test");
	cr_assert_str_eq(rc.v[6], "other@s.test");
	c = after_received(&m);
	cr_assert_null(strstr(c, "Bcc"));
	cr_assert_null(strstr(c, "hidden"));
	cr_assert_null(strstr(c, "other@s.test"));
	cr_assert_not_null(strstr(c, "\r\nSubject: s\r\n"));
	cr_assert_not_null(strstr(c, "Cc: team: a@z.test, (boss) b@z.test;,"
	    "\r\n local\r\n"));
	sendmail_rcpts_free(&rc);
	sendmail_msg_free(&m);
}

Test(sendmail_msg, bcc_is_removed_without_t_too)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;

	cr_assert_eq(run(&m, &rc, 0, 0, "Bcc: x@y\nTo: a@b\n\nbody\n"), 0);
	cr_assert_null(strstr(m.content.data, "Bcc"));
	cr_assert_eq(rc.n, 0);
	sendmail_msg_free(&m);
}

Test(sendmail_msg, t_with_a_bad_address_fails)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;

	cr_assert_eq(run(&m, &rc, 1, 0, "To: <bad address@>\n\nx\n"), -EINVAL);
	sendmail_rcpts_free(&rc);
	sendmail_msg_free(&m);
}

Test(sendmail_msg, no_header_gets_a_separator)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;
	const char *c;

	cr_assert_eq(run(&m, &rc, 0, 0, "just text: no\n  indented\n"), 0);
	c = after_received(&m);
	/* "just text: no" is no header (space in the name). */
	cr_assert_not_null(strstr(c, "\r\n\r\njust text: no\r\n  indented\r\n"));
	sendmail_msg_free(&m);
}

Test(sendmail_msg, mbox_from_line_is_dropped)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;

	cr_assert_eq(run(&m, &rc, 0, 0, "From joe Thu Nov 26 11:00:00 2026\n"
	    "Subject: s\n\nb\n"), 0);
	cr_assert_null(strstr(m.content.data, "From joe"));
	cr_assert_not_null(strstr(m.content.data, "Subject: s\r\n"));
	sendmail_msg_free(&m);
}

Test(sendmail_msg, eight_bit_is_noticed)
{
	struct sendmail_rcpts rc = { 0 };
	struct sendmail_msg m;

	cr_assert_eq(run(&m, &rc, 0, 0, "Subject: caf\xc3\xa9\n\nx\n"), 0);
	cr_assert(m.eightbit);
	sendmail_msg_free(&m);
}

Test(sendmail_msg, size_limit_is_enforced)
{
	struct sendmail_opts o = { 0 };
	struct sendmail_msg m;
	struct buf pending;
	char line[100];

	memset(line, 'x', sizeof(line));
	buf_init(&pending, 0);
	sendmail_msg_init(&m, &o, 1000);
	for (int i = 0; i < 9; i++)
		cr_assert_eq(sendmail_msg_line(&m, line, sizeof(line)), 0);
	cr_assert_eq(sendmail_msg_line(&m, line, sizeof(line)), -EMSGSIZE);
	cr_assert_eq(sendmail_msg_feed(&m, &pending, line, sizeof(line)), 0);
	cr_assert_eq(sendmail_msg_feed(&m, &pending, "\n", 1), -EMSGSIZE);
	buf_free(&pending);
	sendmail_msg_free(&m);
}

Test(sendmail_addr, envelope_addresses)
{
	int utf8 = 0;
	char *a;

	cr_assert_str_eq(a = sendmail_addr("bob", 3, "h.test", 0, &utf8),
	    "bob@h.test");
	free(a);
	cr_assert_str_eq(a = sendmail_addr("<bob@x.test>", 12, "h", 0, &utf8),
	    "bob@x.test");
	free(a);
	cr_assert_str_eq(a = sendmail_addr("<>", 2, "h", 1, &utf8), "");
	free(a);
	cr_assert_str_eq(a = sendmail_addr("", 0, "h", 1, &utf8), "");
	free(a);
	cr_assert_null(sendmail_addr("<>", 2, "h", 0, &utf8));
	cr_assert_null(sendmail_addr("a b@c", 5, "h", 0, &utf8));
	cr_assert_null(sendmail_addr("a@@c", 4, "h", 0, &utf8));
	cr_assert_eq(utf8, 0);
	a = sendmail_addr("\xc3\xa9@x.test", 8, "h", 0, &utf8);
	cr_assert_not_null(a);
	cr_assert_eq(utf8, 1);
	free(a);
}

Test(sendmail_addr, lists_dedupe_and_quotes)
{
	struct sendmail_rcpts rc = { 0 };
	const char *v = " \"a, b\"@x.test , A <a@x.test>, a@x.test,"
	    " undisclosed-recipients:;";
	char err[128];
	int utf8 = 0;

	cr_assert_eq(sendmail_addr_list(v, strlen(v), "h", &rc, &utf8, err,
	    sizeof(err)), 0);
	cr_assert_eq(rc.n, 2);
	cr_assert_str_eq(rc.v[0], "\"a, b\"@x.test");
	cr_assert_str_eq(rc.v[1], "a@x.test");
	sendmail_rcpts_free(&rc);
}
