/* Unit tests for smtpd/smtpd_cmd.c: every verb, MAIL and RCPT with their
 * ESMTP parameters (SIZE, BODY, SMTPUTF8), BDAT counts and EHLO names,
 * accepted and refused, plus hostile lines (NUL, a 1 MB line, huge SIZE=,
 * bad BODY).  Parameter structs hold arrays, not pointers: Criterion runs
 * each case in a child process whose load address may differ. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <string.h>

#include "lib/mem.h"
#include "smtpd/smtpd_cmd.h"
#include "smtpd/smtpd_reply.h"

struct verb_case {
	char line[40];
	enum smtpd_verb verb;
	char arg[32];
};

ParameterizedTestParameters(smtpd_cmd, splits_verb_and_argument)
{
	static struct verb_case t[] = {
		{ "HELO client.example", SMTPD_V_HELO, "client.example" },
		{ "helo x", SMTPD_V_HELO, "x" },
		{ "EHLO client.example", SMTPD_V_EHLO, "client.example" },
		{ "eHlO   spaced  ", SMTPD_V_EHLO, "spaced" },
		{ "MAIL FROM:<a@b.c>", SMTPD_V_MAIL, "FROM:<a@b.c>" },
		{ "mail from:<>", SMTPD_V_MAIL, "from:<>" },
		{ "RCPT TO:<x@y>", SMTPD_V_RCPT, "TO:<x@y>" },
		{ "DATA", SMTPD_V_DATA, "" },
		{ "data \t ", SMTPD_V_DATA, "" },
		{ "BDAT 10 LAST", SMTPD_V_BDAT, "10 LAST" },
		{ "RSET", SMTPD_V_RSET, "" },
		{ "NOOP", SMTPD_V_NOOP, "" },
		{ "NOOP anything goes", SMTPD_V_NOOP, "anything goes" },
		{ "QUIT", SMTPD_V_QUIT, "" },
		{ "VRFY postmaster", SMTPD_V_VRFY, "postmaster" },
		{ "EXPN list", SMTPD_V_EXPN, "list" },
		{ "HELP", SMTPD_V_HELP, "" },
		{ "HELP MAIL", SMTPD_V_HELP, "MAIL" },
		{ "STARTTLS", SMTPD_V_STARTTLS, "" },
		{ "AUTH PLAIN AGFsaWNl", SMTPD_V_AUTH, "PLAIN AGFsaWNl" },
		{ "ETRN example.com", SMTPD_V_ETRN, "example.com" },
		{ "TURN", SMTPD_V_TURN, "" },
		{ "XYZZY", SMTPD_V_UNKNOWN, "" },
		{ "", SMTPD_V_UNKNOWN, "" },
		{ "MAILFROM:<a@b>", SMTPD_V_UNKNOWN, "" },
		{ " DATA", SMTPD_V_UNKNOWN, "DATA" },
		{ "HELOX y", SMTPD_V_UNKNOWN, "y" },
		{ "STARTTLSX", SMTPD_V_UNKNOWN, "" },
		{ "MAIL\tFROM:<a@b>", SMTPD_V_UNKNOWN, "" },
		{ "D\xc3\xa4TA", SMTPD_V_UNKNOWN, "" },
		{ "GET / HTTP/1.0", SMTPD_V_UNKNOWN, "/ HTTP/1.0" },
	};
	return cr_make_param_array(struct verb_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct verb_case *tc, smtpd_cmd, splits_verb_and_argument)
{
	struct smtpd_cmd c;

	cr_assert_eq(smtpd_cmd_parse(tc->line, strlen(tc->line), &c), 0);
	cr_assert_eq(c.verb, tc->verb, "%s: verb %d", tc->line, c.verb);
	cr_assert_eq(c.arglen, strlen(tc->arg), "%s: arglen %zu", tc->line,
	    c.arglen);
	cr_assert(memcmp(c.arg, tc->arg, c.arglen) == 0, "%s", tc->line);
}

Test(smtpd_cmd, verb_names)
{
	cr_assert_str_eq(smtpd_cmd_name(SMTPD_V_MAIL), "MAIL");
	cr_assert_str_eq(smtpd_cmd_name(SMTPD_V_STARTTLS), "STARTTLS");
	cr_assert_str_eq(smtpd_cmd_name(SMTPD_V_UNKNOWN), "UNKNOWN");
	cr_assert_str_eq(smtpd_cmd_name((enum smtpd_verb)999), "UNKNOWN");
}

struct nul_case {
	char line[24];
	size_t len;
};

ParameterizedTestParameters(smtpd_cmd, refuses_nul)
{
	static struct nul_case t[] = {
		{ "\0", 1 },
		{ "MA\0IL FROM:<a@b>", 16 },
		{ "MAIL FROM:<a@b>\0", 16 },
		{ "NOOP \0", 6 },
		{ "QUIT\0", 5 },
	};
	return cr_make_param_array(struct nul_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct nul_case *tc, smtpd_cmd, refuses_nul)
{
	struct smtpd_cmd c;

	cr_assert_eq(smtpd_cmd_parse(tc->line, tc->len, &c), SMTPD_R_NUL);
	cr_assert_eq(c.verb, SMTPD_V_UNKNOWN);
}

Test(smtpd_cmd, one_megabyte_lines_are_bounded)
{
	size_t n = 1024 * 1024;
	char *line = xmalloc(n);
	struct smtpd_mail m;
	struct smtpd_rcpt r;
	struct smtpd_cmd c;

	memset(line, 'A', n);
	cr_assert_eq(smtpd_cmd_parse(line, n, &c), 0);
	cr_assert_eq(c.verb, SMTPD_V_UNKNOWN);
	memcpy(line, "MAIL FROM:<", 11);
	line[n - 1] = '>';
	cr_assert_eq(smtpd_cmd_parse(line, n, &c), 0);
	cr_assert_eq(c.verb, SMTPD_V_MAIL);
	cr_assert_neq(smtpd_cmd_mail(c.arg, c.arglen, 1, &m), 0);
	memcpy(line, "RCPT TO:<a@", 11);
	cr_assert_eq(smtpd_cmd_parse(line, n, &c), 0);
	cr_assert_neq(smtpd_cmd_rcpt(c.arg, c.arglen, 0, &r), 0);
	cr_assert_neq(smtpd_cmd_helo(line, n, 1), 0);
	memset(line, '9', n);
	cr_assert_eq(smtpd_cmd_bdat(line, n, &(uint64_t){ 0 }, &(int){ 0 }),
	    SMTPD_R_SYNTAX_BDAT);
	free(line);
}

struct mail_case {
	char arg[96];
	int esmtp;
	int rc;
	char addr[40];		/* local@domain, "" for <> */
	uint64_t size;
	int has_size;
	enum smtpd_body body;
	int utf8, route;
};

#define HUGE SMTPD_SIZE_HUGE
#define B7 SMTPD_BODY_7BIT
#define B8 SMTPD_BODY_8BITMIME

ParameterizedTestParameters(smtpd_cmd, parses_mail)
{
	static struct mail_case t[] = {
		{ "FROM:<a@b.c>", 1, 0, "a@b.c", 0, 0, 0, 0, 0 },
		{ "from:<a@b.c>", 0, 0, "a@b.c", 0, 0, 0, 0, 0 },
		{ "FROM: <a@b.c>", 1, 0, "a@b.c", 0, 0, 0, 0, 0 },
		{ "FROM:<>", 1, 0, "", 0, 0, 0, 0, 0 },
		{ "FROM:<> SIZE=0", 1, 0, "", 0, 1, 0, 0, 0 },
		{ "FROM:<a@b.c> SIZE=1000", 1, 0, "a@b.c", 1000, 1, 0, 0, 0 },
		{ "FROM:<a@b.c>  SIZE=10   BODY=8BITMIME", 1, 0, "a@b.c", 10, 1,
		  B8, 0, 0 },
		{ "FROM:<a@b.c> size=18446744073709551614", 1, 0, "a@b.c",
		  UINT64_MAX - 1, 1, 0, 0, 0 },
		{ "FROM:<a@b.c> SIZE=18446744073709551616", 1, 0, "a@b.c", HUGE,
		  1, 0, 0, 0 },
		{ "FROM:<a@b.c> SIZE=999999999999999999999999999999999999999",
		  1, 0, "a@b.c", HUGE, 1, 0, 0, 0 },
		{ "FROM:<a@b.c> BODY=7BIT", 1, 0, "a@b.c", 0, 0, B7, 0, 0 },
		{ "FROM:<a@b.c> body=8bitmime", 1, 0, "a@b.c", 0, 0, B8, 0, 0 },
		{ "FROM:<a@b.c> SMTPUTF8", 1, 0, "a@b.c", 0, 0, 0, 1, 0 },
		{ "FROM:<j\xc3\xb6@b.c> SMTPUTF8", 1, 0, "j\xc3\xb6@b.c", 0, 0,
		  0, 1, 0 },
		{ "FROM:<@r.example:a@b.c>", 1, 0, "a@b.c", 0, 0, 0, 0, 1 },
		{ "FROM:<\"x y\"@b.c>", 1, 0, "\"x y\"@b.c", 0, 0, 0, 0, 0 },
	};
	return cr_make_param_array(struct mail_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct mail_case *tc, smtpd_cmd, parses_mail)
{
	struct smtpd_mail m;
	char addr[ADDR_PATH_MAX + 8];
	int rc = smtpd_cmd_mail(tc->arg, strlen(tc->arg), tc->esmtp, &m);

	cr_assert_eq(rc, tc->rc, "%s: rc %d, want %d", tc->arg, rc, tc->rc);
	if (rc != 0)
		return;
	cr_assert_eq(addr_format(&m.addr, addr, sizeof(addr)), 0);
	cr_assert_str_eq(addr, tc->addr, "%s", tc->arg);
	cr_assert_eq(m.size, tc->size, "%s", tc->arg);
	cr_assert_eq(m.has_size, tc->has_size, "%s", tc->arg);
	cr_assert_eq(m.body, tc->body, "%s", tc->arg);
	cr_assert_eq(m.smtputf8, tc->utf8, "%s", tc->arg);
	cr_assert_eq(m.had_route, tc->route, "%s", tc->arg);
}

struct mail_bad {
	char arg[96];
	int esmtp;
	int rc;
};

ParameterizedTestParameters(smtpd_cmd, refuses_bad_mail)
{
	static struct mail_bad t[] = {
		{ "FROM:", 1, SMTPD_R_SYNTAX_MAIL },
		{ "FROM", 1, SMTPD_R_SYNTAX_MAIL },
		{ "", 1, SMTPD_R_SYNTAX_MAIL },
		{ "TO:<a@b.c>", 1, SMTPD_R_SYNTAX_MAIL },
		{ "FROM:a@b.c", 1, SMTPD_R_BAD_SENDER },
		{ "FROM:<a@b.c", 1, SMTPD_R_BAD_SENDER },
		{ "FROM:<a@b.c>x", 1, SMTPD_R_BAD_SENDER },
		{ "FROM:<a b@c.d>", 1, SMTPD_R_BAD_SENDER },
		{ "FROM:<a@b..c>", 1, SMTPD_R_BAD_SENDER },
		{ "FROM:<a@b\rc>", 1, SMTPD_R_BAD_SENDER },
		{ "FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaa@b.c>", 1, SMTPD_R_ADDR_TOO_LONG },
		{ "FROM:<j\xc3\xb6@b.c>", 1, SMTPD_R_ADDR_UTF8 },
		{ "FROM:<j\xff@b.c> SMTPUTF8", 1, SMTPD_R_BAD_SENDER },
		{ "FROM:<a@b.c> SIZE=10", 0, SMTPD_R_PARAM_UNKNOWN },
		{ "FROM:<a@b.c> SMTPUTF8", 0, SMTPD_R_PARAM_UNKNOWN },
		{ "FROM:<a@b.c> SIZE", 1, SMTPD_R_SIZE_SYNTAX },
		{ "FROM:<a@b.c> SIZE=", 1, SMTPD_R_PARAM_SYNTAX },
		{ "FROM:<a@b.c> SIZE=12a", 1, SMTPD_R_SIZE_SYNTAX },
		{ "FROM:<a@b.c> SIZE=-1", 1, SMTPD_R_SIZE_SYNTAX },
		{ "FROM:<a@b.c> SIZE=1 SIZE=2", 1, SMTPD_R_PARAM_DUP },
		{ "FROM:<a@b.c> BODY=BINARYMIME", 1, SMTPD_R_BODY_UNSUPPORTED },
		{ "FROM:<a@b.c> BODY=8BIT", 1, SMTPD_R_BODY_SYNTAX },
		{ "FROM:<a@b.c> BODY", 1, SMTPD_R_BODY_SYNTAX },
		{ "FROM:<a@b.c> BODY=7BIT BODY=7BIT", 1, SMTPD_R_PARAM_DUP },
		{ "FROM:<a@b.c> SMTPUTF8=yes", 1, SMTPD_R_PARAM_SYNTAX },
		{ "FROM:<a@b.c> SMTPUTF8 SMTPUTF8", 1, SMTPD_R_PARAM_DUP },
		{ "FROM:<a@b.c> FOO=bar", 1, SMTPD_R_PARAM_UNKNOWN },
		{ "FROM:<a@b.c> AUTH=<>", 1, SMTPD_R_PARAM_UNKNOWN },
		{ "FROM:<a@b.c> =x", 1, SMTPD_R_PARAM_SYNTAX },
		{ "FROM:<a@b.c> -X=1", 1, SMTPD_R_PARAM_SYNTAX },
		{ "FROM:<a@b.c> X=a=b", 1, SMTPD_R_PARAM_SYNTAX },
		{ "FROM:<a@b.c> SIZE=1\r", 1, SMTPD_R_PARAM_SYNTAX },
	};
	return cr_make_param_array(struct mail_bad, t, ARRAY_LEN(t));
}

ParameterizedTest(struct mail_bad *tc, smtpd_cmd, refuses_bad_mail)
{
	struct smtpd_mail m;
	int rc = smtpd_cmd_mail(tc->arg, strlen(tc->arg), tc->esmtp, &m);

	cr_assert_eq(rc, tc->rc, "%s: rc %d, want %d", tc->arg, rc, tc->rc);
}

struct rcpt_case {
	char arg[64];
	int utf8;
	int rc;
	char local[24];
	char domain[24];
	int route;
};

ParameterizedTestParameters(smtpd_cmd, parses_rcpt)
{
	static struct rcpt_case t[] = {
		{ "TO:<a@b.c>", 0, 0, "a", "b.c", 0 },
		{ "to:<a@b.c>", 0, 0, "a", "b.c", 0 },
		{ "TO:  <a@b.c>", 0, 0, "a", "b.c", 0 },
		{ "TO:<Postmaster>", 0, 0, "Postmaster", "", 0 },
		{ "TO:<a%b@c.d>", 0, 0, "a%b", "c.d", 0 },
		{ "TO:<\"a@b\"@c.d>", 0, 0, "\"a@b\"", "c.d", 0 },
		{ "TO:<@x.example:a@b.c>", 0, 0, "a", "b.c", 1 },
		{ "TO:<j\xc3\xb6@b.c>", 1, 0, "j\xc3\xb6", "b.c", 0 },
		{ "TO:<a@[192.0.2.1]>", 0, 0, "a", "[192.0.2.1]", 0 },
		{ "TO:<j\xc3\xb6@b.c>", 0, SMTPD_R_ADDR_UTF8, "", "", 0 },
		{ "TO:<>", 0, SMTPD_R_BAD_RCPT, "", "", 0 },
		{ "TO:a@b.c", 0, SMTPD_R_BAD_RCPT, "", "", 0 },
		{ "TO:<a@b.c", 0, SMTPD_R_BAD_RCPT, "", "", 0 },
		{ "TO:<a@>", 0, SMTPD_R_BAD_RCPT, "", "", 0 },
		{ "TO:<postmaster@>", 0, SMTPD_R_BAD_RCPT, "", "", 0 },
		{ "TO:<user>", 0, SMTPD_R_BAD_RCPT, "", "", 0 },
		{ "TO:", 0, SMTPD_R_SYNTAX_RCPT, "", "", 0 },
		{ "FROM:<a@b.c>", 0, SMTPD_R_SYNTAX_RCPT, "", "", 0 },
		{ "TO:<a@b.c> NOTIFY=NEVER", 0, SMTPD_R_PARAM_UNKNOWN, "", "",
		  0 },
		{ "TO:<a@b.c> ORCPT=rfc822;a@b.c", 0, SMTPD_R_PARAM_UNKNOWN, "",
		  "", 0 },
		{ "TO:<a@b.c> =", 0, SMTPD_R_PARAM_SYNTAX, "", "", 0 },
	};
	return cr_make_param_array(struct rcpt_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct rcpt_case *tc, smtpd_cmd, parses_rcpt)
{
	struct smtpd_rcpt r;
	int rc = smtpd_cmd_rcpt(tc->arg, strlen(tc->arg), tc->utf8, &r);

	cr_assert_eq(rc, tc->rc, "%s: rc %d, want %d", tc->arg, rc, tc->rc);
	if (rc != 0)
		return;
	cr_assert_str_eq(r.addr.local, tc->local, "%s", tc->arg);
	cr_assert_str_eq(r.addr.domain, tc->domain, "%s", tc->arg);
	cr_assert_eq(r.had_route, tc->route, "%s", tc->arg);
}

struct bdat_case {
	char arg[32];
	int rc;
	uint64_t count;
	int last;
};

ParameterizedTestParameters(smtpd_cmd, parses_bdat)
{
	static struct bdat_case t[] = {
		{ "10", 0, 10, 0 },
		{ "10 LAST", 0, 10, 1 },
		{ "10 last", 0, 10, 1 },
		{ "10   LAST", 0, 10, 1 },
		{ "0 LAST", 0, 0, 1 },
		{ "0", 0, 0, 0 },
		{ "007", 0, 7, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0 },
		{ "", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "x", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "-1", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "+1", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "10x", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "10 LASTX", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "10 LAST x", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "10 FIRST", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "LAST", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "18446744073709551616", SMTPD_R_SYNTAX_BDAT, 0, 0 },
		{ "000000000000000000001", SMTPD_R_SYNTAX_BDAT, 0, 0 },
	};
	return cr_make_param_array(struct bdat_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct bdat_case *tc, smtpd_cmd, parses_bdat)
{
	uint64_t count;
	int last;
	int rc = smtpd_cmd_bdat(tc->arg, strlen(tc->arg), &count, &last);

	cr_assert_eq(rc, tc->rc, "%s: rc %d", tc->arg, rc);
	if (rc != 0)
		return;
	cr_assert_eq(count, tc->count, "%s", tc->arg);
	cr_assert_eq(last, tc->last, "%s", tc->arg);
}

struct helo_case {
	char arg[16];
	int ok;
};

ParameterizedTestParameters(smtpd_cmd, checks_helo_names)
{
	static struct helo_case t[] = {
		{ "client.example", 1 },
		{ "[192.0.2.1]", 1 },
		{ "localhost", 1 },
		{ "ex\xc3\xa4mple", 1 },
		{ "", 0 },
		{ "a b", 0 },
		{ "a\x01", 0 },
		{ "a\x7f", 0 },
		{ "a\r", 0 },
		{ "\xff", 0 },
		{ "\xc3", 0 },
	};
	return cr_make_param_array(struct helo_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct helo_case *tc, smtpd_cmd, checks_helo_names)
{
	int rc = smtpd_cmd_helo(tc->arg, strlen(tc->arg), 1);

	cr_assert_eq(rc == 0, tc->ok, "%s: rc %d", tc->arg, rc);
	if (!tc->ok) {
		cr_assert_eq(rc, SMTPD_R_SYNTAX_EHLO);
		cr_assert_eq(smtpd_cmd_helo(tc->arg, strlen(tc->arg), 0),
		    SMTPD_R_SYNTAX_HELO);
	}
}

Test(smtpd_cmd, helo_name_length_is_bounded)
{
	char name[300];

	memset(name, 'a', sizeof(name));
	cr_assert_eq(smtpd_cmd_helo(name, 255, 1), 0);
	cr_assert_eq(smtpd_cmd_helo(name, 256, 1), SMTPD_R_SYNTAX_EHLO);
}

Test(smtpd_reply, formats_with_argument_and_crlf)
{
	char line[SMTPD_REPLY_MAX];
	size_t n;

	n = smtpd_reply_format(line, sizeof(line), SMTPD_R_QUEUED,
	    "0123456789ABCDEF");
	cr_assert_eq(n, strlen("250 2.0.0 Ok: queued as 0123456789ABCDEF\r\n"));
	cr_assert(memcmp(line, "250 2.0.0 Ok: queued as 0123456789ABCDEF\r\n",
	    n) == 0);
	n = smtpd_reply_format(line, 12, SMTPD_R_TIMEOUT, "host.example");
	cr_assert_eq(n, 12);
	cr_assert(memcmp(line, "421 4.4.2 \r\n", 12) == 0);
	cr_assert_eq(smtpd_reply_code(SMTPD_R_RELAY), 554);
	cr_assert(smtpd_reply_is_error(SMTPD_R_UNKNOWN));
	cr_assert(!smtpd_reply_is_error(SMTPD_R_TOO_MANY_RCPT));
	cr_assert(!smtpd_reply_is_error(SMTPD_R_QUEUED));
}
