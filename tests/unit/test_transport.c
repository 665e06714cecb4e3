/* Unit tests for lib/transport.c: every accepted line form, comments and
 * blank lines, subdomain entries and the lookup order, the next hop
 * strings, the optional tls= field, and hostile input (NUL bytes,
 * overlong lines, junk fields, bad TLS policies, bad
 * hosts and ports, duplicates, too many entries, random bytes) which must
 * be an error with "file:line: message", never a crash. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/transport.h"

static char err[TRANSPORT_ERR_MAX];

static int parse(struct transport *t, const char *text)
{
	return transport_parse(t, "tp", text, strlen(text), err, sizeof(err));
}

static const char *hop(const struct transport *t, const char *domain)
{
	static char out[300];
	const struct transport_entry *e = transport_lookup(t, domain);

	if (e == NULL)
		return "(none)";
	cr_assert_eq(transport_nexthop(e, out, sizeof(out)), 0);
	return out;
}

Test(transport, accepts_every_line_form)
{
	struct transport t = { 0 };

	cr_assert_eq(parse(&t,
	    "# a comment\n"
	    "\n"
	    "a.example   [mx.a.example]:2525\n"
	    "b.example\thost.b.example:26   # trailing comment\n"
	    "c.example host.c.example\n"
	    "d.example [192.0.2.1]\n"
	    "e.example LOCAL\r\n"
	    "f.example [::1]:25\n"
	    "   \t  \n"
	    "G.Example [127.0.0.1]:1"), 0, "%s", err);
	cr_assert_eq(t.n, 7);
	cr_assert_str_eq(hop(&t, "a.example"), "addr:mx.a.example:2525");
	cr_assert_str_eq(hop(&t, "b.example"), "host:host.b.example:26");
	cr_assert_str_eq(hop(&t, "c.example"), "host:host.c.example:25");
	cr_assert_str_eq(hop(&t, "d.example"), "addr:192.0.2.1:25");
	cr_assert_str_eq(hop(&t, "e.example"), "local");
	cr_assert_str_eq(hop(&t, "f.example"), "addr:::1:25");
	cr_assert_str_eq(hop(&t, "g.example"), "addr:127.0.0.1:1");
	cr_assert_str_eq(hop(&t, "A.EXAMPLE"), "addr:mx.a.example:2525");
	cr_assert_str_eq(hop(&t, "x.example"), "(none)");
	cr_assert_str_eq(hop(&t, "sub.a.example"), "(none)");
	transport_free(&t);
	cr_assert_eq(t.n, 0);
}

Test(transport, subdomain_entries_match_below_only)
{
	struct transport t = { 0 };

	cr_assert_eq(parse(&t,
	    ".example.com [sub]:1\n"
	    "example.com [top]:2\n"
	    ".b.example.com [deeper]:3\n"
	    "x.b.example.com local\n"), 0, "%s", err);
	cr_assert_str_eq(hop(&t, "example.com"), "addr:top:2");
	cr_assert_str_eq(hop(&t, "a.example.com"), "addr:sub:1");
	cr_assert_str_eq(hop(&t, "b.example.com"), "addr:sub:1");
	cr_assert_str_eq(hop(&t, "a.b.example.com"), "addr:deeper:3");
	cr_assert_str_eq(hop(&t, "x.b.example.com"), "local");
	cr_assert_str_eq(hop(&t, "y.x.b.example.com"), "addr:deeper:3");
	cr_assert_str_eq(hop(&t, "example.org"), "(none)");
	cr_assert_str_eq(hop(&t, "com"), "(none)");
	transport_free(&t);
}

Test(transport, tls_field_is_part_of_the_next_hop)
{
	struct transport t = { 0 };

	cr_assert_eq(parse(&t,
	    "a.example [mx.a.example]:25 tls=must\n"
	    "b.example host.b.example tls=verify   # MX of host.b\n"
	    "c.example [192.0.2.1]:26\ttls=may\n"
	    "d.example [::1]:25 tls=none\n"
	    "e.example [mx.e.example]:25\n"
	    ".f.example relay.f.example:587 tls=verify\n"), 0, "%s", err);
	cr_assert_eq(t.n, 6);
	cr_assert_eq(transport_lookup(&t, "a.example")->tls, TLS_POLICY_MUST);
	cr_assert_str_eq(hop(&t, "a.example"), "addr:mx.a.example:25;tls=must");
	cr_assert_str_eq(hop(&t, "b.example"),
	    "host:host.b.example:25;tls=verify");
	cr_assert_str_eq(hop(&t, "c.example"), "addr:192.0.2.1:26;tls=may");
	cr_assert_str_eq(hop(&t, "d.example"), "addr:::1:25;tls=none");
	/* No field: the default (smtp_tls_policy), and no suffix. */
	cr_assert_eq(transport_lookup(&t, "e.example")->tls,
	    TLS_POLICY_DEFAULT);
	cr_assert_str_eq(hop(&t, "e.example"), "addr:mx.e.example:25");
	cr_assert_str_eq(hop(&t, "x.f.example"),
	    "host:relay.f.example:587;tls=verify");
	transport_free(&t);
}

Test(transport, longest_next_hop_with_a_policy_fits)
{
	struct transport t = { 0 };
	char text[600], want[300], name[256];
	const struct transport_entry *e;
	char out[300];

	/* 63+1+63+1+63+1+61 = 253 bytes: the longest domain name. */
	snprintf(name, sizeof(name), "%0*d.%0*d.%0*d.%0*d", 63, 1, 63, 2, 63, 3,
	    61, 4);
	snprintf(text, sizeof(text), "a.example [%s]:65535 tls=verify\n", name);
	cr_assert_eq(parse(&t, text), 0, "%s", err);
	snprintf(want, sizeof(want), "addr:%s:65535;tls=verify", name);
	cr_assert_str_eq(hop(&t, "a.example"), want);
	e = transport_lookup(&t, "a.example");
	cr_assert_eq(transport_nexthop(e, out, strlen(want)), -ENAMETOOLONG);
	transport_free(&t);
}

Test(transport, empty_file_is_an_empty_table)
{
	struct transport t = { 0 };

	cr_assert_eq(parse(&t, ""), 0);
	cr_assert_eq(t.n, 0);
	cr_assert_str_eq(hop(&t, "example.com"), "(none)");
	cr_assert_eq(parse(&t, "# only\n#comments\n\n"), 0);
	cr_assert_eq(t.n, 0);
}

Test(transport, a_failed_parse_keeps_the_old_table)
{
	struct transport t = { 0 };

	cr_assert_eq(parse(&t, "a.example local\n"), 0);
	cr_assert_eq(parse(&t, "b.example local\nbad\n"), -EINVAL);
	cr_assert_str_eq(err, "tp:2: expected `domain next-hop [tls=policy]'");
	cr_assert_eq(t.n, 1);
	cr_assert_str_eq(hop(&t, "a.example"), "local");
	transport_free(&t);
}

/* Arrays, not pointers: Criterion re-executes each case in a child
 * process whose load address differs. */
struct bad_case {
	char text[64];
	size_t len;		/* 0: strlen */
	char err[48];		/* prefix of the message */
};

ParameterizedTestParameters(transport, rejects_hostile_input)
{
	static struct bad_case t[] = {
		{ "example.com\n", 0, "tp:1: expected" },
		{ "example.com a b\n", 0, "tp:1: expected" },
		{ "\nexample.com [a]:1 junk\n", 0, "tp:2: expected" },
		{ "example.com [a]:1 tls=must x\n", 0, "tp:1: expected" },
		{ "example.com [a]:1 tls=\n", 0, "tp:1: tls= must be" },
		{ "example.com [a]:1 tls=MUST\n", 0, "tp:1: tls= must be" },
		{ "example.com [a]:1 tls=default\n", 0, "tp:1: tls= must be" },
		{ "example.com [a]:1 tls=mustx\n", 0, "tp:1: tls= must be" },
		{ "example.com [a]:1 tls=verif\n", 0, "tp:1: tls= must be" },
		{ "example.com [a]:1 TLS=must\n", 0, "tp:1: expected" },
		{ "example.com [a]:1 tls\n", 0, "tp:1: expected" },
		{ "example.com [a]:1;tls=must\n", 0, "tp:1:" },
		{ "example.com local tls=must\n", 0, "tp:1: tls= applies to "
		  "remote" },
		{ "example.com mx:25:26\n", 0, "tp:1:" },
		{ "ex@mple.com [a]:1\n", 0, "tp:1: bad domain" },
		{ "[192.0.2.1] [a]:1\n", 0, "tp:1: bad domain" },
		{ ". [a]:1\n", 0, "tp:1: bad domain" },
		{ "..example.com [a]:1\n", 0, "tp:1: bad domain" },
		{ "example..com [a]:1\n", 0, "tp:1: bad domain" },
		{ "-example.com [a]:1\n", 0, "tp:1: bad domain" },
		{ "example.com [a]:0\n", 0, "tp:1: bad port" },
		{ "example.com [a]:65536\n", 0, "tp:1:" },
		{ "example.com [a]:-1\n", 0, "tp:1:" },
		{ "example.com [a]:\n", 0, "tp:1:" },
		{ "example.com [a\n", 0, "tp:1:" },
		{ "example.com a]:25\n", 0, "tp:1:" },
		{ "example.com ho$t:25\n", 0, "tp:1: bad host name" },
		{ "example.com []:25\n", 0, "tp:1:" },
		{ "a.example local\nA.EXAMPLE [x]:1\n", 0, "tp: a.example "
		  "listed twice" },
		{ "a.example\0 local\n", 18, "tp:1: NUL byte" },
		{ "a.example local\n\0\n", 18, "tp:2: NUL byte" },
		{ "a.example \x01local\n", 0, "tp:1:" },
		{ "a.example loc\xffl\n", 0, "tp:1:" },
	};

	return cr_make_param_array(struct bad_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct bad_case *tc, transport, rejects_hostile_input)
{
	struct transport t = { 0 };
	size_t len = tc->len ? tc->len : strlen(tc->text);

	cr_assert_eq(transport_parse(&t, "tp", tc->text, len, err,
	    sizeof(err)), -EINVAL, "accepted %s", tc->text);
	cr_assert_eq(strncmp(err, tc->err, strlen(tc->err)), 0,
	    "\"%s\": message \"%s\"", tc->text, err);
	cr_assert_eq(t.n, 0);
}

Test(transport, overlong_line_and_host_are_errors)
{
	struct transport t = { 0 };
	char *text = xmalloc(4096);

	memset(text, 'a', 4095);
	text[4095] = '\0';
	cr_assert_eq(parse(&t, text), -EINVAL);
	cr_assert_str_eq(err, "tp:1: line longer than 1024 bytes");
	memcpy(text, "x.example ", 10);
	text[10 + 400] = '\0';
	cr_assert_eq(parse(&t, text), -EINVAL);
	cr_assert_str_eq(err, "tp:1: next hop too long");
	/* A 64-byte label is one too many. */
	snprintf(text, 4096, "%0*d.example local\n", 64, 0);
	cr_assert_eq(parse(&t, text), -EINVAL);
	free(text);
}

Test(transport, too_many_entries_are_an_error)
{
	struct transport t = { 0 };
	size_t cap = (size_t)(TRANSPORT_ENTRIES_MAX + 1) * 24;
	char *text = xmalloc(cap);
	size_t len = 0;

	for (unsigned i = 0; i <= TRANSPORT_ENTRIES_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "d%u.example "
		    "local\n", i);
	cr_assert_eq(transport_parse(&t, "tp", text, len, err, sizeof(err)),
	    -EINVAL);
	cr_assert(strstr(err, "more than 100000 entries") != NULL, "%s", err);
	/* One fewer is fine, and every entry is found. */
	len -= strlen("d100000.example local\n");
	cr_assert_eq(transport_parse(&t, "tp", text, len, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(t.n, TRANSPORT_ENTRIES_MAX);
	cr_assert_str_eq(hop(&t, "d99999.example"), "local");
	transport_free(&t);
	free(text);
}

Test(transport, random_bytes_never_crash)
{
	struct transport t = { 0 };
	char text[512];

	srand(42);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand() % (int)sizeof(text));

		for (size_t i = 0; i < len; i++) {
			static const char alpha[] = "ab.[]:0123 \t\n#-local\0\xff";

			text[i] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		}
		if (transport_parse(&t, "tp", text, len, err,
		    sizeof(err)) == 0) {
			for (size_t i = 0; i < t.n; i++) {
				char out[300];

				cr_assert_eq(transport_nexthop(&t.v[i], out,
				    sizeof(out)), 0);
			}
		} else {
			cr_assert(strncmp(err, "tp", 2) == 0, "%s", err);
		}
	}
	transport_free(&t);
}

Test(transport, load_reads_a_file)
{
	char path[] = "/tmp/test_transport.XXXXXX";
	struct transport t = { 0 };
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "a.example local\n", 16), 16);
	close(fd);
	cr_assert_eq(transport_load(&t, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(hop(&t, "a.example"), "local");
	unlink(path);
	cr_assert_eq(transport_load(&t, path, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "No such file") != NULL, "%s", err);
	cr_assert_eq(t.n, 1);
	transport_free(&t);
}
