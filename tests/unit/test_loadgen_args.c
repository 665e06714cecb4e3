/* Unit tests for bench/loadgen_args.c: defaults, every option, HOST:PORT
 * forms, and the range checks that refuse bad numbers. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "lib/mem.h"
#include "bench/loadgen.h"

/* Parse a NULL-terminated list of words. */
static int parse(struct loadgen_opts *o, char *err, const char **words)
{
	static char store[32][128];
	char *argv[33];
	int argc = 0;

	argv[argc++] = (char *)"mta-loadgen";
	for (; *words; words++, argc++) {
		snprintf(store[argc], sizeof(store[argc]), "%s", *words);
		argv[argc] = store[argc];
	}
	argv[argc] = NULL;
	return loadgen_args_parse(o, argc, argv, err, 256);
}

Test(loadgen_args, defaults)
{
	struct loadgen_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, (const char *[]){ "127.0.0.1:25",
	    NULL }), 0);
	cr_assert_str_eq(o.host, "127.0.0.1");
	cr_assert_str_eq(o.port, "25");
	cr_assert_eq(o.conns, 1);
	cr_assert_eq(o.rcpts, 1);
	cr_assert_eq(o.per_conn, 1);
	cr_assert_str_eq(o.to, "rcpt@localhost");
	cr_assert_eq(o.duration, 0);
	cr_assert_gt(o.messages, 0);
}

Test(loadgen_args, every_option)
{
	struct loadgen_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, (const char *[]){ "-c", "50", "-m",
	    "20000", "-s", "5120", "-r", "3", "--messages-per-connection",
	    "10", "--from", "f@x.test", "--to", "t@y.test", "--domains",
	    "1000", "--rate", "500", "--json", "--helo", "h.test", "--timeout", "5",
	    "localhost:2525", NULL }), 0, "%s", err);
	cr_assert_eq(o.conns, 50);
	cr_assert_eq(o.messages, 20000);
	cr_assert_eq(o.size, 5120);
	cr_assert_eq(o.rcpts, 3);
	cr_assert_eq(o.per_conn, 10);
	cr_assert_str_eq(o.from, "f@x.test");
	cr_assert_str_eq(o.to, "t@y.test");
	cr_assert_eq(o.domains, 1000);
	cr_assert_eq(o.rate, 500);
	cr_assert(o.json);
	cr_assert_str_eq(o.helo, "h.test");
	cr_assert_eq(o.timeout, 5);
	cr_assert_str_eq(o.host, "localhost");
	cr_assert_str_eq(o.port, "2525");
}

Test(loadgen_args, duration_replaces_message_count)
{
	struct loadgen_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, (const char *[]){ "-m", "5", "-d", "10",
	    "h:1", NULL }), 0);
	cr_assert_eq(o.duration, 10);
	cr_assert_eq(o.messages, 0);
}

Test(loadgen_args, tls_off_by_default)
{
	struct loadgen_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, (const char *[]){ "h:1", NULL }), 0);
	cr_assert_eq(o.tls, LOADGEN_TLS_NONE);
	cr_assert_eq(o.tls_resume, 0);
	cr_assert_eq(o.handshake_only, 0);
	cr_assert_str_eq(o.auth_b64, "");
}

Test(loadgen_args, tls_modes)
{
	struct loadgen_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, (const char *[]){ "--tls", "starttls",
	    "h:25", NULL }), 0, "%s", err);
	cr_assert_eq(o.tls, LOADGEN_TLS_STARTTLS);
	cr_assert_eq(o.tls_resume, 0);
	cr_assert_eq(parse(&o, err, (const char *[]){ "--tls", "smtps",
	    "--tls-resume", "--handshake-only", "h:465", NULL }), 0, "%s", err);
	cr_assert_eq(o.tls, LOADGEN_TLS_SMTPS);
	cr_assert(o.tls_resume);
	cr_assert(o.handshake_only);
}

/* AUTH PLAIN's argument is base64("\0user\0password") (RFC 4616). */
Test(loadgen_args, auth_plain_argument)
{
	struct loadgen_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, (const char *[]){ "--auth", "u:p",
	    "h:1", NULL }), 0, "%s", err);
	cr_assert_str_eq(o.auth_b64, "AHUAcA==");
	cr_assert_eq(parse(&o, err, (const char *[]){ "--auth",
	    "bench@localhost:secret", "h:1", NULL }), 0, "%s", err);
	cr_assert_str_eq(o.auth_b64, "AGJlbmNoQGxvY2FsaG9zdABzZWNyZXQ=");
	/* The password may hold colons: only the first one splits. */
	cr_assert_eq(parse(&o, err, (const char *[]){ "--auth", "ab:c:d",
	    "h:1", NULL }), 0, "%s", err);
	cr_assert_str_eq(o.auth_b64, "AGFiAGM6ZA==");
}

Test(loadgen_args, ipv6_target)
{
	struct loadgen_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, (const char *[]){ "[::1]:25", NULL }), 0);
	cr_assert_str_eq(o.host, "::1");
	cr_assert_str_eq(o.port, "25");
}

/* Words are stored inline: Criterion copies parameters into the
 * worker process, where pointers into this image might not hold. */
struct refused_case {
	char w[5][24];
};

ParameterizedTestParameters(loadgen_args, refused)
{
	static struct refused_case cases[] = {
		{ { "-c", "0", "h:1" } },
		{ { "-c", "x", "h:1" } },
		{ { "-m", "-1", "h:1" } },
		{ { "-r", "0", "h:1" } },
		{ { "-s", "12k", "h:1" } },
		{ { "--domains", "0", "h:1" } },
		{ { "--rate", "0", "h:1" } },
		{ { "--starttls", "h:1" } },
		{ { "--tls", "yes", "h:1" } },
		{ { "--tls", "", "h:1" } },
		{ { "--tls-resume", "h:1" } },
		{ { "--handshake-only", "h:1" } },
		{ { "--tls", "smtps", "--handshake-only", "--rate=5", "h:1" } },
		{ { "--auth", "nopassword", "h:1" } },
		{ { "--auth", ":p", "h:1" } },
		{ { "--to", "a>b", "h:1" } },
		{ { "hostonly" } },
		{ { "h:" } },
		{ { "h:1", "h:2" } },
		{ { "" } },
	};

	return cr_make_param_array(struct refused_case, cases,
	    ARRAY_LEN(cases));
}

ParameterizedTest(struct refused_case *c, loadgen_args, refused)
{
	struct loadgen_opts o;
	char err[256];
	const char *words[6] = { NULL, NULL, NULL, NULL, NULL, NULL };

	for (int i = 0; i < 5 && c->w[i][0]; i++)
		words[i] = c->w[i];
	cr_assert_eq(parse(&o, err, words), -EINVAL);
	cr_assert_neq(err[0], '\0');
}
