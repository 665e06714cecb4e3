/* Unit tests for lib/addr.c: RFC 5321 paths accepted and rejected, with
 * hostile input (NUL, CR/LF, over-long paths, unbalanced quotes and
 * brackets, 8-bit bytes with and without SMTPUTF8), length limits at and
 * just past their boundaries, and the formatting helpers.  Parameter
 * structs hold arrays, not pointers: Criterion re-executes each case in a
 * child process whose load address differs. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/mem.h"

#define NB ADDR_NEED_BRACKETS
#define NUL_OK ADDR_ALLOW_NULL
#define U8 ADDR_ALLOW_UTF8
#define PM ADDR_ALLOW_POSTMASTER

struct ok_case {
	char in[80];
	unsigned flags;
	char local[40];
	char domain[40];
	size_t end;
	int is_null, has_utf8, is_literal;
};

ParameterizedTestParameters(addr, accepts_valid_paths)
{
	static struct ok_case t[] = {
		{ "<user@example.com>", NB, "user", "example.com", 18, 0, 0, 0 },
		{ "<user@example.com> SIZE=100", NB, "user", "example.com", 18,
		  0, 0, 0 },
		{ "<a@b>junk", NB, "a", "b", 5, 0, 0, 0 },
		{ "<first.last@sub.example.com>", NB, "first.last",
		  "sub.example.com", 28, 0, 0, 0 },
		{ "<a!#$%&'*+-/=?^_`{|}~z@x.y>", NB, "a!#$%&'*+-/=?^_`{|}~z",
		  "x.y", 27, 0, 0, 0 },
		{ "<\"quoted string\"@example.com>", NB, "\"quoted string\"",
		  "example.com", 29, 0, 0, 0 },
		{ "<\"a\\\"b\\\\c\"@x.y>", NB, "\"a\\\"b\\\\c\"", "x.y", 15,
		  0, 0, 0 },
		{ "<\"\"@x.y>", NB, "\"\"", "x.y", 8, 0, 0, 0 },
		{ "<\"b@c\"@local>", NB, "\"b@c\"", "local", 13, 0, 0, 0 },
		{ "<\"a>b\"@c.d>", NB, "\"a>b\"", "c.d", 11, 0, 0, 0 },
		{ "<\"a b,c:d<e>f\"@c.d>", NB, "\"a b,c:d<e>f\"", "c.d", 19,
		  0, 0, 0 },
		{ "<user@[192.0.2.1]>", NB, "user", "[192.0.2.1]", 18, 0, 0, 1 },
		{ "<user@[IPv6:2001:db8::1]>", NB, "user", "[IPv6:2001:db8::1]",
		  25, 0, 0, 1 },
		{ "<user@[ipv6:::1]>", NB, "user", "[ipv6:::1]", 17, 0, 0, 1 },
		{ "<u@[IPv6:::ffff:192.0.2.1]>", NB, "u", "[IPv6:::ffff:192.0.2.1]",
		  27, 0, 0, 1 },
		{ "<@a.example,@b.example:user@c.example>", NB, "user",
		  "c.example", 38, 0, 0, 0 },
		{ "<@a:u@b>", NB, "u", "b", 8, 0, 0, 0 },
		{ "<user@localhost>", NB, "user", "localhost", 16, 0, 0, 0 },
		{ "<user@x-y--z.example>", NB, "user", "x-y--z.example", 21,
		  0, 0, 0 },
		{ "<user@123.example>", NB, "user", "123.example", 18, 0, 0, 0 },
		{ "<USER@EXAMPLE.COM>", NB, "USER", "EXAMPLE.COM", 18, 0, 0, 0 },
		{ "<1@2.3>", NB, "1", "2.3", 7, 0, 0, 0 },
		{ "<>", NB | NUL_OK, "", "", 2, 1, 0, 0 },
		{ "<> BODY=8BITMIME", NB | NUL_OK, "", "", 2, 1, 0, 0 },
		{ "<Postmaster>", NB | PM, "Postmaster", "", 12, 0, 0, 0 },
		{ "<postMASTER> NOTIFY=NEVER", NB | PM, "postMASTER", "", 12,
		  0, 0, 0 },
		{ "<Postmaster@example.com>", NB, "Postmaster", "example.com", 24,
		  0, 0, 0 },
		{ "<postmasterx@example.com>", NB | PM, "postmasterx",
		  "example.com", 25, 0, 0, 0 },
		{ "user@example.com", 0, "user", "example.com", 16, 0, 0, 0 },
		{ "user@example.com rest", 0, "user", "example.com", 16, 0, 0, 0 },
		{ "<user@example.com>", 0, "user", "example.com", 18, 0, 0, 0 },
		{ "", NUL_OK, "", "", 0, 1, 0, 0 },
		{ "<>", NUL_OK, "", "", 2, 1, 0, 0 },
		{ "postmaster", PM, "postmaster", "", 10, 0, 0, 0 },
		{ "<j\xc3\xb6" "e@example.com>", NB | U8, "j\xc3\xb6" "e",
		  "example.com", 18, 0, 1, 0 },
		{ "<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9"
		  "\xbf\xe5\x91\x8a>", NB | U8, "\xe7\x94\xa8\xe6\x88\xb7",
		  "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", 22, 0, 1,
		  0 },
		{ "<\"\xc3\xbc\"@x.y>", NB | U8, "\"\xc3\xbc\"", "x.y", 10, 0, 1,
		  0 },
		{ "<a@b\xf0\x9f\x98\x80.c>", NB | U8, "a", "b\xf0\x9f\x98\x80.c",
		  11, 0, 1, 0 },
		{ "<user@example.com>", NB | U8, "user", "example.com", 18, 0, 0,
		  0 },
	};
	return cr_make_param_array(struct ok_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct ok_case *tc, addr, accepts_valid_paths)
{
	struct addr a;
	size_t end = 999;
	int rc = addr_parse_path(tc->in, strlen(tc->in), tc->flags, &a, &end);

	cr_assert_eq(rc, ADDR_OK, "\"%s\" flags %#x: %d", tc->in, tc->flags, rc);
	cr_assert_str_eq(a.local, tc->local, "\"%s\"", tc->in);
	cr_assert_str_eq(a.domain, tc->domain, "\"%s\"", tc->in);
	cr_assert_eq(end, tc->end, "\"%s\": end %zu", tc->in, end);
	cr_assert_eq(a.is_null, tc->is_null, "\"%s\"", tc->in);
	cr_assert_eq(a.has_utf8, tc->has_utf8, "\"%s\"", tc->in);
	cr_assert_eq(a.is_literal, tc->is_literal, "\"%s\"", tc->in);
}

struct bad_case {
	char in[80];
	size_t len;		/* 0: strlen */
	unsigned flags;
	int rc;
};

#define SYN ADDR_ESYNTAX

ParameterizedTestParameters(addr, rejects_invalid_paths)
{
	static struct bad_case t[] = {
		{ "user@example.com", 0, NB, SYN },
		{ "", 0, NB, SYN },
		{ "", 0, 0, ADDR_EEMPTY },
		{ "<>", 0, NB, ADDR_EEMPTY },
		{ "<> ", 0, 0, ADDR_EEMPTY },
		{ "<", 0, NB, SYN },
		{ "<user@example.com", 0, NB, SYN },
		{ "<user@example.com", 0, 0, SYN },
		{ "<<user@x.y>>", 0, NB, SYN },
		{ "< user@x.y>", 0, NB, SYN },
		{ "<user@x.y >", 0, NB, SYN },
		{ "<user>", 0, NB, SYN },
		{ "<Postmaster>", 0, NB, SYN },
		{ "<Postmaster >", 0, NB | PM, SYN },
		{ "<@example.com>", 0, NB, SYN },
		{ "<@a:>", 0, NB, SYN },
		{ "<@a,b:u@c>", 0, NB, SYN },
		{ "<@a;@b:u@c>", 0, NB, SYN },
		{ "<@[1.2.3.4]:u@c>", 0, NB, SYN },
		{ "<@:u@c>", 0, NB, SYN },
		{ "<user@>", 0, NB, SYN },
		{ "<@>", 0, NB, SYN },
		{ "<user@@example.com>", 0, NB, SYN },
		{ "<b@c@d>", 0, NB, SYN },
		{ "<\"b@c\"@>", 0, NB, SYN },
		{ "<\"b@c\">", 0, NB, SYN },
		{ "<user@example..com>", 0, NB, SYN },
		{ "<user@.example.com>", 0, NB, SYN },
		{ "<user@example.com.>", 0, NB, SYN },
		{ "<user@-example.com>", 0, NB, SYN },
		{ "<user@example-.com>", 0, NB, SYN },
		{ "<user@exa_mple.com>", 0, NB, SYN },
		{ "<user@exa mple.com>", 0, NB, SYN },
		{ "<.user@x.y>", 0, NB, SYN },
		{ "<user.@x.y>", 0, NB, SYN },
		{ "<us..er@x.y>", 0, NB, SYN },
		{ "<us er@x.y>", 0, NB, SYN },
		{ "<us\"er@x.y>", 0, NB, SYN },
		{ "<us(er)@x.y>", 0, NB, SYN },
		{ "<us[er@x.y>", 0, NB, SYN },
		{ "<us\\er@x.y>", 0, NB, SYN },
		{ "<\"unterminated@x.y>", 0, NB, SYN },
		{ "<\"a\"b@x.y>", 0, NB, SYN },
		{ "<a\"b\"@x.y>", 0, NB, SYN },
		{ "<\"a\\\x01\"@x.y>", 0, NB, SYN },
		{ "<\"a\\", 0, NB, SYN },
		{ "<\"a\rb\"@x.y>", 0, NB, SYN },
		{ "<\"a\nb\"@x.y>", 0, NB, SYN },
		{ "<\"a\tb\"@x.y>", 0, NB, SYN },
		{ "<a\r\n@x.y>", 0, NB, SYN },
		{ "<a@x.y\r\n>", 0, NB, SYN },
		{ "<a\0b@x.y>", 10, NB, SYN },
		{ "<a@x\0y>", 7, NB, SYN },
		{ "<\"a\0b\"@x.y>", 11, NB, SYN },
		{ "<a@x.y\0>", 8, NB, SYN },
		{ "\0", 1, NUL_OK, SYN },
		{ "<user@[1.2.3]>", 0, NB, SYN },
		{ "<user@[1.2.3.256]>", 0, NB, SYN },
		{ "<user@[1.2.3.4.5]>", 0, NB, SYN },
		{ "<user@[IPv6:1.2.3.4]>", 0, NB, SYN },
		{ "<user@[IPv6:]>", 0, NB, SYN },
		{ "<user@[IPv6:2001:db8::g]>", 0, NB, SYN },
		{ "<user@[IPv4:1.2.3.4]>", 0, NB, SYN },
		{ "<user@[tag:foo]>", 0, NB, SYN },
		{ "<user@[]>", 0, NB, SYN },
		{ "<user@[1.2.3.4>", 0, NB, SYN },
		{ "<user@1.2.3.4]>", 0, NB, SYN },
		{ "<user@[[1.2.3.4]]>", 0, NB, SYN },
		{ "<user@[1.2.3.4]x>", 0, NB, SYN },
		{ "<user@[ 1.2.3.4]>", 0, NB, SYN },
		{ "user@example.com<", 0, 0, SYN },
		{ "user@example.com>", 0, 0, SYN },
		{ "user", 0, 0, SYN },
		{ "@x.y", 0, 0, SYN },
		{ " user@x.y", 0, 0, SYN },
		{ " user@x.y", 0, NUL_OK, SYN },
		{ "<j\xc3\xb6" "e@example.com>", 0, NB, ADDR_EUTF8 },
		{ "<joe@ex\xc3\xa4mple.com>", 0, NB, ADDR_EUTF8 },
		{ "<\"\xc3\xbc\"@x.y>", 0, NB, ADDR_EUTF8 },
		{ "<\"\\\xc3\xbc\"@x.y>", 0, NB, ADDR_EUTF8 },
		{ "<\xff@x.y>", 0, NB, ADDR_EUTF8 },
		{ "<a@[1.2.3.\xc3\xa4]>", 0, NB, ADDR_EUTF8 },
		{ "<j\xc3@x.y>", 0, NB | U8, SYN },
		{ "<\xc0\xaf@x.y>", 0, NB | U8, SYN },
		{ "<\xe0\x80\xaf@x.y>", 0, NB | U8, SYN },
		{ "<\xed\xa0\x80@x.y>", 0, NB | U8, SYN },
		{ "<\xf4\x90\x80\x80@x.y>", 0, NB | U8, SYN },
		{ "<\xf8\x88\x80\x80\x80@x.y>", 0, NB | U8, SYN },
		{ "<\x80@x.y>", 0, NB | U8, SYN },
		{ "<\xff@x.y>", 0, NB | U8, SYN },
		{ "<a@b\xc3>", 0, NB | U8, SYN },
		{ "<\"\\\xc3\xbc\"@x.y>", 0, NB | U8, SYN },
		{ "<a@[1.2.3.\xc3\xa4]>", 0, NB | U8, SYN },
	};
	return cr_make_param_array(struct bad_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct bad_case *tc, addr, rejects_invalid_paths)
{
	struct addr a;
	size_t len = tc->len ? tc->len : strlen(tc->in);
	size_t end = 999;

	cr_assert_eq(addr_parse_path(tc->in, len, tc->flags, &a, &end), tc->rc,
	    "\"%s\" flags %#x", tc->in, tc->flags);
	cr_assert_eq(end, 0);
}

/* Every valid path is judged the same under every flag that does not
 * concern it; bare and null forms depend only on their own flags. */
Test(addr, flags_only_change_what_they_name)
{
	struct addr a;

	for (unsigned f = 0; f < 16; f++) {
		int want_null = (f & NUL_OK) ? ADDR_OK : ADDR_EEMPTY;
		int want_bare = (f & NB) ? SYN : ADDR_OK;
		int want_pm = (f & PM) ? ADDR_OK : SYN;
		int want_u8 = (f & U8) ? ADDR_OK : ADDR_EUTF8;

		cr_assert_eq(addr_parse_path("<a@b.c>", 7, f, &a, NULL), ADDR_OK);
		cr_assert_eq(addr_parse_path("<>", 2, f, &a, NULL), want_null);
		cr_assert_eq(addr_parse_path("a@b.c", 5, f, &a, NULL), want_bare);
		cr_assert_eq(addr_parse_path("<postmaster>", 12, f, &a, NULL),
		    want_pm);
		cr_assert_eq(addr_parse_path("<\xc3\xa4@b.c>", 8, f, &a, NULL),
		    want_u8);
	}
}

/* --- length limits ------------------------------------------------------- */

static int parse_str(const char *s, unsigned flags, struct addr *a)
{
	return addr_parse_path(s, strlen(s), flags, a, NULL);
}

/* "<" + local + "@" + domain + ">" into a fresh buffer. */
static char *make_path(size_t llen, char lch, const char *domain)
{
	size_t dl = strlen(domain), n = 1 + llen + 1 + dl + 1;
	char *p = xmalloc(n + 1);

	p[0] = '<';
	memset(p + 1, lch, llen);
	p[1 + llen] = '@';
	memcpy(p + 2 + llen, domain, dl);
	p[n - 1] = '>';
	p[n] = '\0';
	return p;
}

/* labels of 63 'a' joined by dots up to exactly len bytes. */
static char *make_domain(size_t len)
{
	char *d = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		d[i] = (i % 64 == 63) ? '.' : 'a';
	if (len > 0 && d[len - 1] == '.')
		d[len - 1] = 'b';
	d[len] = '\0';
	return d;
}

Test(addr, local_part_of_64_octets_is_the_limit)
{
	struct addr a;
	char *p64 = make_path(64, 'x', "example.com");
	char *p65 = make_path(65, 'x', "example.com");

	cr_assert_eq(parse_str(p64, NB, &a), ADDR_OK);
	cr_assert_eq(strlen(a.local), 64);
	cr_assert_eq(parse_str(p65, NB, &a), ADDR_ETOOLONG);
	free(p64);
	free(p65);
}

Test(addr, quoted_local_part_counts_quotes_and_backslashes)
{
	struct addr a;
	char *p = make_path(64, 'x', "x.y");

	p[1] = '"';
	p[64] = '"';		/* "xxx...x" = 64 octets on the wire */
	cr_assert_eq(parse_str(p, NB, &a), ADDR_OK);
	cr_assert_eq(strlen(a.local), 64);
	free(p);
	p = make_path(65, 'x', "x.y");
	p[1] = '"';
	p[2] = '\\';		/* quoted pair: two octets on the wire */
	p[65] = '"';
	cr_assert_eq(parse_str(p, NB, &a), ADDR_ETOOLONG);
	free(p);
}

Test(addr, utf8_local_part_is_counted_in_octets)
{
	struct addr a;
	char path[160] = "<";
	size_t n = 1;

	for (int i = 0; i < 32; i++) {	/* 32 x 2 octets = 64 */
		memcpy(path + n, "\xc3\xa4", 2);
		n += 2;
	}
	memcpy(path + n, "@x.y>", 6);
	cr_assert_eq(parse_str(path, NB | U8, &a), ADDR_OK);
	cr_assert(a.has_utf8);
	memmove(path + 3, path + 1, strlen(path + 1) + 1);
	memcpy(path + 1, "\xc3\xa4", 2);
	cr_assert_eq(parse_str(path, NB | U8, &a), ADDR_ETOOLONG);
}

Test(addr, label_of_63_octets_is_the_limit)
{
	struct addr a;
	char l63[70], l64[70];
	char *p;

	memset(l63, 'd', 63);
	memcpy(l63 + 63, ".com", 5);
	memset(l64, 'd', 64);
	memcpy(l64 + 64, ".com", 5);
	p = make_path(1, 'u', l63);
	cr_assert_eq(parse_str(p, NB, &a), ADDR_OK);
	free(p);
	p = make_path(1, 'u', l64);
	cr_assert_eq(parse_str(p, NB, &a), ADDR_ETOOLONG);
	free(p);
	cr_assert_eq(addr_valid_domain(l63, strlen(l63), 0), ADDR_OK);
	cr_assert_eq(addr_valid_domain(l64, strlen(l64), 0), ADDR_ETOOLONG);
}

Test(addr, domain_of_255_octets_is_the_limit)
{
	char *d255 = make_domain(255), *d256 = make_domain(256);

	cr_assert_eq(addr_valid_domain(d255, 255, 0), ADDR_OK);
	cr_assert_eq(addr_valid_domain(d256, 256, 0), ADDR_ETOOLONG);
	free(d255);
	free(d256);
}

Test(addr, path_of_256_octets_is_the_limit)
{
	struct addr a;
	char *d = make_domain(252);	/* "<" + "u@" + 252 + ">" = 256 */
	char *p = make_path(1, 'u', d);
	size_t end;

	cr_assert_eq(strlen(p), 256);
	cr_assert_eq(addr_parse_path(p, 256, NB, &a, &end), ADDR_OK);
	cr_assert_eq(end, 256);
	free(p);
	p = make_path(2, 'u', d);	/* 257 */
	cr_assert_eq(parse_str(p, NB, &a), ADDR_ETOOLONG);
	cr_assert_eq(parse_str(p + 1, 0, &a), SYN);	/* bare, trailing '>' */
	p[strlen(p) - 1] = '\0';		/* bare: 255 + 2 > 256 */
	cr_assert_eq(parse_str(p + 1, 0, &a), ADDR_ETOOLONG);
	free(p);
	free(d);
}

Test(addr, source_route_counts_toward_the_path_limit)
{
	struct addr a;
	char path[400];
	size_t n = 0;

	path[n++] = '<';
	for (int i = 0; i < 25; i++)	/* 25 x "@host.test," = 275 */
		n += (size_t)snprintf(path + n, sizeof(path) - n, "@host%02d.tst,",
		    i);
	path[n - 1] = ':';
	n += (size_t)snprintf(path + n, sizeof(path) - n, "u@x.y>");
	cr_assert_eq(addr_parse_path(path, n, NB, &a, NULL), ADDR_ETOOLONG);
}

Test(addr, three_hundred_octet_paths_are_rejected)
{
	struct addr a;
	char *p = make_path(300, 'a', "x.y");
	char *dom = xmalloc(301);

	cr_assert_eq(parse_str(p, NB, &a), ADDR_ETOOLONG);
	free(p);
	for (int i = 0; i < 300; i++)
		dom[i] = (i % 4 == 3) ? '.' : 'c';
	dom[300] = '\0';
	dom[299] = 'c';
	p = make_path(1, 'a', dom);
	cr_assert_eq(parse_str(p, NB, &a), ADDR_ETOOLONG);
	free(p);
	free(dom);
}

Test(addr, huge_garbage_is_a_syntax_error)
{
	struct addr a;
	size_t n = 100000;
	char *p = xmalloc(n);

	memset(p, 'a', n);
	p[0] = '<';
	cr_assert_eq(addr_parse_path(p, n, NB, &a, NULL), SYN);
	memset(p, '"', n);
	cr_assert_eq(addr_parse_path(p + 1, n - 1, 0, &a, NULL), SYN);
	memset(p, '[', n);
	cr_assert_eq(addr_parse_path(p, n, 0, &a, NULL), SYN);
	free(p);
}

Test(addr, input_is_not_read_past_len)
{
	struct addr a;
	size_t end;

	/* The '>' lies outside the given length. */
	cr_assert_eq(addr_parse_path("<a@b.c>", 6, NB, &a, &end), SYN);
	cr_assert_eq(addr_parse_path("<a@b.c>", 7, NB, &a, &end), ADDR_OK);
	cr_assert_eq(addr_parse_path("a@b.cd", 5, 0, &a, &end), ADDR_OK);
	cr_assert_str_eq(a.domain, "b.c");
	cr_assert_eq(addr_parse_path("<\"ab\"@c>", 4, NB, &a, &end), SYN);
	cr_assert_eq(addr_parse_path("<a@[1.2.3.4]>", 12, NB, &a, &end), SYN);
	cr_assert_eq(addr_parse_path(NULL, 0, NB, &a, &end), SYN);
}

/* --- domains ------------------------------------------------------------- */

struct dom_case {
	char d[48];
	int allow_utf8;
	int rc;
};

ParameterizedTestParameters(addr, valid_domain)
{
	static struct dom_case t[] = {
		{ "example.com", 0, ADDR_OK }, { "localhost", 0, ADDR_OK },
		{ "a", 0, ADDR_OK }, { "0.1", 0, ADDR_OK },
		{ "xn--bcher-kva.example", 0, ADDR_OK },
		{ "[192.0.2.1]", 0, ADDR_OK }, { "[IPv6:::1]", 0, ADDR_OK },
		{ "b\xc3\xbc" "cher.example", 1, ADDR_OK },
		{ "b\xc3\xbc" "cher.example", 0, ADDR_EUTF8 },
		{ "b\xc3.example", 1, SYN },
		{ "", 0, SYN }, { ".", 0, SYN }, { "a.", 0, SYN }, { ".a", 0, SYN },
		{ "a..b", 0, SYN }, { "a_b", 0, SYN }, { "-a", 0, SYN },
		{ "a-", 0, SYN }, { "a b", 0, SYN }, { "a@b", 0, SYN },
		{ "[1.2.3.4", 0, SYN }, { "[300.1.1.1]", 0, SYN },
		{ "[IPv6:zz]", 0, SYN }, { "a.b\n", 0, SYN },
	};
	return cr_make_param_array(struct dom_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct dom_case *tc, addr, valid_domain)
{
	cr_assert_eq(addr_valid_domain(tc->d, strlen(tc->d), tc->allow_utf8),
	    tc->rc, "\"%s\"", tc->d);
}

Test(addr, valid_domain_honours_len)
{
	cr_assert_eq(addr_valid_domain("example.com;junk", 11, 0), ADDR_OK);
	cr_assert_eq(addr_valid_domain("example.com;junk", 12, 0), SYN);
	cr_assert_eq(addr_valid_domain("a\0b", 3, 0), SYN);
}

/* --- formatting ---------------------------------------------------------- */

Test(addr, format_joins_local_and_domain)
{
	struct addr a;
	char out[300];

	cr_assert_eq(parse_str("<\"x y\"@Example.COM>", NB, &a), ADDR_OK);
	cr_assert_eq(addr_format(&a, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "\"x y\"@Example.COM");
	cr_assert_eq(parse_str("<>", NB | NUL_OK, &a), ADDR_OK);
	cr_assert_eq(addr_format(&a, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(parse_str("<Postmaster>", NB | PM, &a), ADDR_OK);
	cr_assert_eq(addr_format(&a, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "Postmaster");
}

Test(addr, format_reports_short_buffer)
{
	struct addr a;
	char out[8];

	cr_assert_eq(parse_str("<user@example.com>", NB, &a), ADDR_OK);
	cr_assert_eq(addr_format(&a, out, sizeof(out)), -ENOSPC);
	cr_assert_str_eq(out, "");
	cr_assert_eq(addr_format(&a, out, 0), -ENOSPC);
}

Test(addr, format_fits_exactly)
{
	struct addr a;
	char out[17];

	cr_assert_eq(parse_str("<user@example.com>", NB, &a), ADDR_OK);
	cr_assert_eq(addr_format(&a, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "user@example.com");
	cr_assert_eq(addr_format(&a, out, sizeof(out) - 1), -ENOSPC);
}

Test(addr, domain_lower_is_ascii_only_and_bounded)
{
	struct addr a;
	char out[64];

	cr_assert_eq(parse_str("<U@ExAmPlE.CoM>", NB, &a), ADDR_OK);
	addr_domain_lower(&a, out, sizeof(out));
	cr_assert_str_eq(out, "example.com");
	addr_domain_lower(&a, out, 4);
	cr_assert_str_eq(out, "exa");
	cr_assert_eq(parse_str("<u@\xc3\x84Z.de>", NB | U8, &a), ADDR_OK);
	addr_domain_lower(&a, out, sizeof(out));
	cr_assert_str_eq(out, "\xc3\x84z.de");
	cr_assert_eq(parse_str("<u@[IPv6:::1]>", NB, &a), ADDR_OK);
	addr_domain_lower(&a, out, sizeof(out));
	cr_assert_str_eq(out, "[ipv6:::1]");
}
