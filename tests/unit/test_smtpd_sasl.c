/* Unit tests for smtpd_sasl, AUTH's SASL exchange: PLAIN with and without
 * an initial response, LOGIN's two prompts, strict base64, the authzid
 * rule, '*' cancels, user names and lengths; and which clients count as
 * loopback for auth_plaintext_loopback (netio_is_loopback). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "lib/netio.h"
#include "smtpd/smtpd_auth.h"
#include "smtpd/smtpd_reply.h"
#include "smtpd/smtpd_sasl.h"

static int t_start(struct smtpd_sasl *x, const char *arg, const char **ch)
{
	return smtpd_sasl_start(x, arg, strlen(arg), ch);
}

static int t_step(struct smtpd_sasl *x, const char *line, const char **ch)
{
	return smtpd_sasl_step(x, line, strlen(line), ch);
}

Test(smtpd_sasl, plain_initial_response)
{
	struct smtpd_sasl x;
	const char *ch = "unset";

	/* "\0alice@localhost\0pw 1" */
	cr_assert_eq(t_start(&x, "PLAIN AGFsaWNlQGxvY2FsaG9zdABwdyAx", &ch), 0);
	cr_assert_null(ch);
	cr_assert_str_eq(x.user, "alice@localhost");
	cr_assert_eq(x.passlen, 4);
	cr_assert_eq(memcmp(x.pass, "pw 1", 4), 0);
	cr_assert_str_eq(smtpd_sasl_name(&x), "PLAIN");
	smtpd_sasl_wipe(&x);
	cr_assert_eq(x.passlen, 0);
	cr_assert_eq(x.pass[0], '\0');
}

Test(smtpd_sasl, plain_after_an_empty_challenge)
{
	struct smtpd_sasl x;
	const char *ch;

	cr_assert_eq(t_start(&x, "plain", &ch), 0);
	cr_assert_str_eq(ch, "");
	cr_assert_eq(t_step(&x, "AGFsaWNlQGxvY2FsaG9zdABwdyAx", &ch), 0);
	cr_assert_null(ch);
	cr_assert_str_eq(x.user, "alice@localhost");
}

Test(smtpd_sasl, plain_authzid_equal_is_accepted_other_is_denied)
{
	struct smtpd_sasl x;
	const char *ch;

	/* "ALICE@localhost\0alice@localhost\0pw" */
	cr_assert_eq(t_start(&x, "PLAIN QUxJQ0VAbG9jYWxob3N0AGFsaWNlQGxv"
	    "Y2FsaG9zdABwdw==", &ch), 0);
	cr_assert_str_eq(x.user, "alice@localhost");
	/* "bob@localhost\0alice@localhost\0pw" */
	cr_assert_eq(t_start(&x, "PLAIN Ym9iQGxvY2FsaG9zdABhbGljZUBsb2NhbGhv"
	    "c3QAcHc=", &ch), SMTPD_R_AUTHZ_DENIED);
}

struct bad_case {
	const char *arg;
	int rc;
};

/* Every refusal of the AUTH argument, with its reply. */
Test(smtpd_sasl, bad_start)
{
	static struct bad_case t[] = {
		{ "", SMTPD_R_SYNTAX_AUTH },
		{ " PLAIN", SMTPD_R_SYNTAX_AUTH },
		{ "PLAIN ", SMTPD_R_SYNTAX_AUTH },
		{ "CRAM-MD5", SMTPD_R_AUTH_MECH },
		{ "PLAINX", SMTPD_R_AUTH_MECH },
		{ "LOG", SMTPD_R_AUTH_MECH },
		/* base64: no padding, bad bytes, inner spaces, '*' */
		{ "PLAIN AGFsaWNlAHB3=", SMTPD_R_AUTH_DECODE },
		{ "PLAIN AGFsaWNlAHB", SMTPD_R_AUTH_DECODE },
		{ "PLAIN AGFsaWNlAHB3\n", SMTPD_R_AUTH_DECODE },
		{ "PLAIN AGFsaW NlAHB3", SMTPD_R_AUTH_DECODE },
		{ "PLAIN AGFs.WNlAHB3", SMTPD_R_AUTH_DECODE },
		{ "PLAIN *", SMTPD_R_AUTH_DECODE },
		{ "PLAIN =", SMTPD_R_AUTH_DECODE },		/* empty */
		{ "PLAIN YWxpY2U=", SMTPD_R_AUTH_DECODE },	/* no NUL */
		{ "PLAIN AGFsaWNl", SMTPD_R_AUTH_DECODE },	/* one NUL */
		{ "PLAIN AGFsaWNlAHAAdw==", SMTPD_R_AUTH_DECODE }, /* 3 */
		{ "PLAIN AABwdw==", SMTPD_R_AUTH_FAILED },	/* no user */
		{ "PLAIN AGEgYgBwdw==", SMTPD_R_AUTH_FAILED },/* "a b" */
		{ "PLAIN AGEJYgBwdw==", SMTPD_R_AUTH_FAILED },/* TAB */
		{ "LOGIN =", SMTPD_R_AUTH_FAILED },	/* empty */
		{ "LOGIN YQ0KYg==", SMTPD_R_AUTH_FAILED },/* CRLF */
	};

	static struct smtpd_sasl x;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *ch = NULL;
		int rc = t_start(&x, t[i].arg, &ch);

		cr_expect_eq(rc, t[i].rc, "\"%s\": got %d, want %d", t[i].arg,
		    rc, t[i].rc);
		cr_expect_null(ch, "\"%s\": a challenge", t[i].arg);
	}
}

Test(smtpd_sasl, login_two_prompts)
{
	struct smtpd_sasl x;
	const char *ch;

	cr_assert_eq(t_start(&x, "LOGIN", &ch), 0);
	cr_assert_str_eq(ch, "VXNlcm5hbWU6");
	cr_assert_eq(t_step(&x, "YWxpY2VAbG9jYWxob3N0", &ch), 0);
	cr_assert_str_eq(ch, "UGFzc3dvcmQ6");
	cr_assert_str_eq(x.user, "alice@localhost");
	cr_assert_eq(t_step(&x, "cHcAMQ==", &ch), 0);	/* "pw\0" "1" */
	cr_assert_null(ch);
	cr_assert_eq(x.passlen, 4, "a NUL is kept, never cuts the password");
	cr_assert_eq(memcmp(x.pass, "pw\0001", 4), 0);
	cr_assert_str_eq(smtpd_sasl_name(&x), "LOGIN");
}

Test(smtpd_sasl, login_initial_response_and_empty_password)
{
	struct smtpd_sasl x;
	const char *ch;

	cr_assert_eq(t_start(&x, "LOGIN YWxpY2VAbG9jYWxob3N0", &ch), 0);
	cr_assert_str_eq(ch, "UGFzc3dvcmQ6");
	cr_assert_eq(t_step(&x, "", &ch), 0);
	cr_assert_null(ch);
	cr_assert_eq(x.passlen, 0);
}

Test(smtpd_sasl, star_cancels_at_every_prompt)
{
	struct smtpd_sasl x;
	const char *ch;

	cr_assert_eq(t_start(&x, "PLAIN", &ch), 0);
	cr_assert_eq(t_step(&x, "*", &ch), SMTPD_R_AUTH_CANCEL);
	cr_assert_eq(t_start(&x, "LOGIN", &ch), 0);
	cr_assert_eq(t_step(&x, "*", &ch), SMTPD_R_AUTH_CANCEL);
	cr_assert_eq(t_start(&x, "LOGIN YQ==", &ch), 0);
	cr_assert_eq(t_step(&x, "*", &ch), SMTPD_R_AUTH_CANCEL);
	cr_assert_eq(t_start(&x, "LOGIN", &ch), 0);
	cr_assert_eq(t_step(&x, "**", &ch), SMTPD_R_AUTH_DECODE);
	cr_assert_eq(t_start(&x, "PLAIN", &ch), 0);
	cr_assert_eq(t_step(&x, "=", &ch), SMTPD_R_AUTH_DECODE,
	    "'=' is for initial responses only");
}

Test(smtpd_sasl, longest_response_fits_longer_user_does_not)
{
	static char line[SMTPD_SASL_LINE_MAX];
	struct smtpd_sasl x;
	const char *ch;
	size_t n = SMTPD_SASL_LINE_MAX - 2;	/* CRLF */

	n -= n % 4;
	memset(line, 'A', n);			/* NUL bytes only */
	line[n] = '\0';
	cr_assert_eq(t_start(&x, "PLAIN", &ch), 0);
	cr_assert_eq(t_step(&x, line, &ch), SMTPD_R_AUTH_DECODE);
	memset(line, 'Y', n);			/* 'a'-ish bytes, no NUL */
	cr_assert_eq(t_start(&x, "LOGIN", &ch), 0);
	cr_assert_eq(t_step(&x, line, &ch), SMTPD_R_AUTH_FAILED,
	    "a user name longer than an address");
	cr_assert_eq(t_start(&x, "LOGIN YQ==", &ch), 0);
	cr_assert_eq(t_step(&x, line, &ch), 0);
	cr_assert_eq(x.passlen, n / 4 * 3, "a long password is kept whole");
}

/* The client's address as accept(2) gives it (AF_UNSPEC: unparsable). */
static int loopback(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return netio_is_loopback(&ss);
}

/* What auth_plaintext_loopback trusts (smtpd_server sets s->loopback). */
Test(smtpd_auth, loopback_addresses)
{
	cr_assert(loopback("127.0.0.1"));
	cr_assert(loopback("127.255.0.9"));
	cr_assert(loopback("::1"));
	cr_assert(loopback("::ffff:127.0.0.1"));
	cr_assert_not(loopback("128.0.0.1"));
	cr_assert_not(loopback("10.0.0.1"));
	cr_assert_not(loopback("::2"));
	cr_assert_not(loopback("::"));
	cr_assert_not(loopback("::ffff:10.0.0.1"));
	cr_assert_not(loopback(""));
	cr_assert_not(loopback("localhost"));
}
