/* Unit tests for pop3d/pop3d_cmd.c (keywords, arguments, message numbers)
 * and lib/base64.c (the AUTH PLAIN decoder), including hostile lines: NUL
 * bytes, bare CR, signs, overflowing numbers, junk base64.  Parameter
 * structs hold arrays, not pointers (Criterion runs each case in a child
 * process). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/mem.h"
#include "pop3d/pop3d_cmd.h"
#include "pop3d/pop3d_reply.h"

struct verb_case {
	char line[40];
	enum pop3d_verb verb;
	int has_arg;
	char arg[32];
};

ParameterizedTestParameters(pop3d_cmd, splits_keyword_and_argument)
{
	static struct verb_case t[] = {
		{ "USER alice@localhost", POP3D_V_USER, 1, "alice@localhost" },
		{ "user x\r", POP3D_V_USER, 1, "x" },
		{ "PASS with spaces ", POP3D_V_PASS, 1, "with spaces " },
		{ "PASS ", POP3D_V_PASS, 1, "" },
		{ "QUIT", POP3D_V_QUIT, 0, "" },
		{ "stat\r", POP3D_V_STAT, 0, "" },
		{ "LIST", POP3D_V_LIST, 0, "" },
		{ "LIST 3", POP3D_V_LIST, 1, "3" },
		{ "RETR 1", POP3D_V_RETR, 1, "1" },
		{ "DELE 2", POP3D_V_DELE, 1, "2" },
		{ "NoOp", POP3D_V_NOOP, 0, "" },
		{ "RSET", POP3D_V_RSET, 0, "" },
		{ "TOP 1 10", POP3D_V_TOP, 1, "1 10" },
		{ "UIDL", POP3D_V_UIDL, 0, "" },
		{ "CAPA", POP3D_V_CAPA, 0, "" },
		{ "AUTH PLAIN AGE=", POP3D_V_AUTH, 1, "PLAIN AGE=" },
		{ "APOP a b", POP3D_V_APOP, 1, "a b" },
		{ "STLS", POP3D_V_STLS, 0, "" },
		{ "", POP3D_V_UNKNOWN, 0, "" },
		{ "\r", POP3D_V_UNKNOWN, 0, "" },
		{ "XYZZY", POP3D_V_UNKNOWN, 0, "" },
		{ "USERX a", POP3D_V_UNKNOWN, 0, "" },
		{ " USER a", POP3D_V_UNKNOWN, 0, "" },
		{ "USER\ta", POP3D_V_UNKNOWN, 0, "" },
		{ "STA", POP3D_V_UNKNOWN, 0, "" },
		{ "NOOP\rNOOP", POP3D_V_UNKNOWN, 0, "" },
	};
	return cr_make_param_array(struct verb_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct verb_case *tc, pop3d_cmd, splits_keyword_and_argument)
{
	struct pop3d_cmd c;

	pop3d_cmd_parse(tc->line, strlen(tc->line), &c);
	cr_assert_eq(c.verb, tc->verb, "%s", tc->line);
	cr_assert_eq(c.arg != NULL, tc->has_arg, "%s", tc->line);
	if (tc->has_arg) {
		cr_assert_eq(c.arglen, strlen(tc->arg), "%s", tc->line);
		cr_assert(memcmp(c.arg, tc->arg, c.arglen) == 0, "%s", tc->line);
	}
}

Test(pop3d_cmd, nul_makes_the_keyword_unknown)
{
	struct pop3d_cmd c;

	pop3d_cmd_parse("NO\0OP", 5, &c);
	cr_assert_eq(c.verb, POP3D_V_UNKNOWN);
	pop3d_cmd_parse("USER a\0b", 8, &c);
	cr_assert_eq(c.verb, POP3D_V_USER);
	cr_assert_eq(c.arglen, 3);	/* the session refuses it */
}

struct num_case {
	char arg[24];
	int two;
	int ok;
	unsigned long n, m;
};

ParameterizedTestParameters(pop3d_cmd, parses_message_numbers)
{
	static struct num_case t[] = {
		{ "1", 0, 1, 1, 0 },
		{ "4294967295", 0, 1, 4294967295UL, 0 },
		{ "4294967296", 0, 0, 0, 0 },
		{ "99999999999", 0, 0, 0, 0 },
		{ "0", 0, 1, 0, 0 },
		{ "-1", 0, 0, 0, 0 },
		{ "+1", 0, 0, 0, 0 },
		{ "1 ", 0, 0, 0, 0 },
		{ " 1", 0, 0, 0, 0 },
		{ "1 2", 0, 0, 0, 0 },
		{ "", 0, 0, 0, 0 },
		{ "1x", 0, 0, 0, 0 },
		{ "1 2", 1, 1, 1, 2 },
		{ "3 0", 1, 1, 3, 0 },
		{ "1", 1, 0, 0, 0 },
		{ "1  2", 1, 0, 0, 0 },
		{ "1 2 3", 1, 0, 0, 0 },
		{ "a 2", 1, 0, 0, 0 },
	};
	return cr_make_param_array(struct num_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct num_case *tc, pop3d_cmd, parses_message_numbers)
{
	unsigned long n = 77, m = 77;
	int rc = pop3d_cmd_numbers(tc->arg, strlen(tc->arg), &n,
	    tc->two ? &m : NULL);

	cr_assert_eq(rc == 0, tc->ok, "\"%s\"", tc->arg);
	if (tc->ok) {
		cr_assert_eq(n, tc->n);
		if (tc->two)
			cr_assert_eq(m, tc->m);
	}
}

Test(pop3d_cmd, no_argument_is_invalid_number)
{
	unsigned long n;

	cr_assert_eq(pop3d_cmd_numbers(NULL, 0, &n, NULL), -EINVAL);
}

Test(pop3d_reply, every_reply_is_one_status_line_or_multiline)
{
	for (int r = 0; r < POP3D_R_NCODES; r++) {
		const char *t = pop3d_reply_text((enum pop3d_reply)r);
		size_t n = strlen(t);

		cr_assert(t[0] == '+' || t[0] == '-', "reply %d", r);
		cr_assert(n >= 3 && strcmp(t + n - 2, "\r\n") == 0, "reply %d", r);
	}
	cr_assert_str_eq(pop3d_reply_text(POP3D_R_IN_USE),
	    "-ERR [IN-USE] mailbox locked\r\n");
	cr_assert_str_eq(pop3d_reply_text(POP3D_R_AUTH_FAILED),
	    "-ERR [AUTH] Authentication failed\r\n");
}

Test(base64, decodes_sasl_plain)
{
	char out[64];
	long n = base64_decode("AGFsaWNlQGxvY2FsaG9zdABzZWNyZXQ=", 32, out,
	    sizeof(out));

	cr_assert_eq(n, 23);
	cr_assert(memcmp(out, "\0alice@localhost\0secret", 23) == 0);
	cr_assert_eq(base64_decode("", 0, out, sizeof(out)), 0);
	cr_assert_eq(base64_decode("YQ==", 4, out, sizeof(out)), 1);
	cr_assert_eq(base64_decode("YWI=", 4, out, sizeof(out)), 2);
}

Test(base64, refuses_junk_and_overflow)
{
	char out[2];

	cr_assert_eq(base64_decode("YQ=", 3, out, sizeof(out)), -EINVAL);
	cr_assert_eq(base64_decode("Y===", 4, out, sizeof(out)), -EINVAL);
	cr_assert_eq(base64_decode("YQ=a", 4, out, sizeof(out)), -EINVAL);
	cr_assert_eq(base64_decode("YQ==YQ==", 8, out, sizeof(out)), -EINVAL);
	cr_assert_eq(base64_decode("Y Q=", 4, out, sizeof(out)), -EINVAL);
	cr_assert_eq(base64_decode("Y\0Q=", 4, out, sizeof(out)), -EINVAL);
	cr_assert_eq(base64_decode("YWJj", 4, out, sizeof(out)), -EMSGSIZE);
}
