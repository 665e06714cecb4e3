/* Unit tests for lib/aliases.c and lib/aliases_expand.c: the file format
 * (comments, blank and continuation lines, bare local parts on both
 * sides), expansion (recursion, an alias naming itself, loops, the depth
 * limit, case-insensitive deduplication, the target limit, remote
 * targets), refresh, and hostile input (NUL bytes, long lines, pipes,
 * 100,000 entries, random bytes) which is an error "file:line: message". */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/aliases.h"
#include "lib/buf.h"
#include "lib/mem.h"

static char err[512];
static struct conf conf;

static void setup(void)
{
	static const char text[] = "local_domains = localhost, example.test\n";

	cr_assert_eq(conf_load_string(&conf, "t", text, strlen(text), err,
	    sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	conf_free(&conf);
}

TestSuite(aliases, .init = setup, .fini = teardown);

static struct aliases *parse_ok(const char *text)
{
	struct aliases *a = NULL;

	err[0] = '\0';
	cr_assert_eq(aliases_parse(&a, "al", text, strlen(text), err,
	    sizeof(err)), 0, "%s", err);
	return a;
}

static void parse_bad(const char *text, size_t len, const char *msg)
{
	struct aliases *a = NULL;

	err[0] = '\0';
	cr_assert_eq(aliases_parse(&a, "al", text, len, err, sizeof(err)),
	    -EINVAL, "accepted: %.60s", text);
	cr_assert_null(a);
	cr_assert(strstr(err, msg) != NULL, "error %s, want %s", err, msg);
}

/* The expansion as one string "a b c", or "ERR -n". */
struct out {
	char s[64 * 1024];
	int fail_at;		/* emit returns -EIO on this call (1-based) */
	int calls;
};

static int emit(void *ctx, const char *t)
{
	struct out *o = ctx;
	size_t n = strlen(o->s);

	if (++o->calls == o->fail_at)
		return -EIO;
	snprintf(o->s + n, sizeof(o->s) - n, "%s%s", n ? " " : "", t);
	return 0;
}

static const char *expand(const struct aliases *a, const char *addr, int *rc)
{
	static struct out o;

	memset(&o, 0, sizeof(o));
	*rc = aliases_expand(a, &conf, addr, emit, &o);
	return o.s;
}

Test(aliases, parses_comments_blanks_and_continuations)
{
	struct aliases *a = parse_ok(
	    "# a comment\n"
	    "\n"
	    "postmaster: alice@localhost\n"
	    "  # an indented comment\n"
	    "Team@Example.Test: bob@example.test,\r\n"
	    "\tcarol@EXAMPLE.TEST ,\n"
	    "   Dave@Remote.Example\n"
	    "<list@localhost>: alice\n"
	    "\t \n"
	    "last@localhost:alice");
	int rc;

	cr_assert_eq(aliases_count(a), 4);
	cr_assert(aliases_is_alias(a, "TEAM@example.test"));
	cr_assert(aliases_is_alias(a, "postmaster@localhost"));
	cr_assert(aliases_is_alias(a, "PostMaster@example.test"));
	cr_assert(aliases_is_alias(a, "list@LOCALHOST"));
	cr_assert(!aliases_is_alias(a, "alice@localhost"));
	cr_assert_str_eq(expand(a, "team@example.test", &rc),
	    "bob@example.test carol@example.test Dave@remote.example");
	cr_assert_eq(rc, 3);
	cr_assert_str_eq(expand(a, "list@localhost", &rc), "alice@localhost");
	cr_assert_eq(rc, 1);
	aliases_free(a);
}

Test(aliases, bare_key_means_every_local_domain)
{
	struct aliases *a = parse_ok("postmaster: alice@localhost\n"
	    "abuse: root\n"
	    "root@example.test: ops@example.test\n"
	    "abuse@localhost: exact@localhost\n");
	int rc;

	cr_assert_str_eq(expand(a, "postmaster@example.test", &rc),
	    "alice@localhost");
	cr_assert_str_eq(expand(a, "POSTMASTER@localhost", &rc),
	    "alice@localhost");
	/* Not a local domain: never expanded. */
	cr_assert_str_eq(expand(a, "postmaster@remote.example", &rc), "");
	cr_assert_eq(rc, 0);
	/* A bare target is at the domain of the address expanded, and an
	 * exact key wins over the bare one. */
	cr_assert_str_eq(expand(a, "abuse@example.test", &rc),
	    "ops@example.test");
	cr_assert_str_eq(expand(a, "abuse@localhost", &rc),
	    "exact@localhost");
	aliases_free(a);
}

Test(aliases, recursion_and_self_reference)
{
	struct aliases *a = parse_ok("all: staff, ops@example.test, "
	    "x@remote.example\n"
	    "staff: alice, bob, staff\n"
	    "ops@example.test: ALICE@localhost, carol@example.test\n");
	int rc;

	/* staff names itself: delivered to its own mailbox, no loop;
	 * alice@localhost comes twice (any case): once. */
	cr_assert_str_eq(expand(a, "all@localhost", &rc),
	    "alice@localhost bob@localhost staff@localhost "
	    "carol@example.test x@remote.example");
	cr_assert_eq(rc, 5);
	cr_assert_str_eq(expand(a, "nobody@localhost", &rc), "");
	cr_assert_eq(rc, 0);
	aliases_free(a);
}

Test(aliases, loops_are_errors)
{
	struct aliases *a = parse_ok("a: b\nb: c, x\nc: a\n"
	    "me: me\nd: e\ne: d, e\n");
	int rc;

	expand(a, "a@localhost", &rc);
	cr_assert_eq(rc, -ELOOP);
	expand(a, "b@example.test", &rc);
	cr_assert_eq(rc, -ELOOP);
	cr_assert_str_eq(expand(a, "me@localhost", &rc), "me@localhost");
	cr_assert_eq(rc, 1);
	expand(a, "d@localhost", &rc);
	cr_assert_eq(rc, -ELOOP);
	aliases_free(a);
}

Test(aliases, depth_limit)
{
	struct buf b;
	struct aliases *a;
	int rc;

	/* a0 -> a1 -> ... -> a9 -> final: ALIASES_DEPTH_MAX aliases. */
	buf_init(&b, 0);
	for (int i = 0; i < ALIASES_DEPTH_MAX; i++)
		buf_printf(&b, "a%d: a%d\n", i, i + 1);
	a = parse_ok(buf_cstr(&b));
	cr_assert_str_eq(expand(a, "a0@localhost", &rc), "a10@localhost");
	cr_assert_eq(rc, 1);
	aliases_free(a);
	buf_printf(&b, "a%d: final\n", ALIASES_DEPTH_MAX);
	a = parse_ok(buf_cstr(&b));
	expand(a, "a0@localhost", &rc);
	cr_assert_eq(rc, -ELOOP);
	cr_assert_str_eq(expand(a, "a1@localhost", &rc), "final@localhost");
	aliases_free(a);
	buf_free(&b);
}

Test(aliases, target_limit_and_diamonds)
{
	struct buf b;
	struct aliases *a;
	int rc;

	/* Two lists of 600 distinct users: 1,200 final recipients. */
	buf_init(&b, 0);
	buf_puts(&b, "big: l1, l2\nl1: u0");
	for (int i = 1; i < 600; i++)
		buf_printf(&b, ",\n u%d", i);
	buf_puts(&b, "\nl2: v0");
	for (int i = 1; i < 600; i++)
		buf_printf(&b, ",\n v%d", i);
	/* A diamond: d -> m1, m2 -> the same 600 users: 600 finals. */
	buf_puts(&b, "\nd: m1, m2\nm1: l1\nm2: l1\n");
	a = parse_ok(buf_cstr(&b));
	expand(a, "big@localhost", &rc);
	cr_assert_eq(rc, -E2BIG);
	expand(a, "d@localhost", &rc);
	cr_assert_eq(rc, 600);
	aliases_free(a);
	buf_free(&b);
}

Test(aliases, emit_error_stops)
{
	struct aliases *a = parse_ok("l: a, b, c\n");
	struct out o = { .fail_at = 2 };

	cr_assert_eq(aliases_expand(a, &conf, "l@localhost", emit, &o), -EIO);
	cr_assert_str_eq(o.s, "a@localhost");
	cr_assert_eq(aliases_expand(NULL, &conf, "l@localhost", emit, &o), 0);
	aliases_free(a);
}

Test(aliases, refuses_hostile_and_malformed_input)
{
	char *big = xmalloc(ALIASES_LINE_MAX + 10);

	parse_bad("a: b\0c\n", 7, "al:1: NUL byte");
	memset(big, 'x', ALIASES_LINE_MAX + 9);
	memcpy(big, "a: ", 3);
	parse_bad(big, ALIASES_LINE_MAX + 9, "al:1: line longer than");
	free(big);
	parse_bad("a b c\n", 6, "al:1: expected `address: target");
	parse_bad("\n  b\n", 5, "al:2: continuation line without an alias");
	parse_bad("a: |/bin/sh\n", 12, "not supported");
	parse_bad("a: /etc/passwd\n", 15, "not supported");
	parse_bad("a: :include:/x\n", 15, "not supported");
	parse_bad("\"a b\": c\n", 9, "quoted local parts");
	parse_bad("a: b c\n", 7, "al:1: blank or ':' inside an address");
	parse_bad("a:\nb: c\n", 8, "al:1: no targets for a");
	parse_bad("a: , ,\n", 7, "al:1: no targets for a");
	parse_bad("a@: b\n", 6, "al:1: bad address");
	parse_bad("a..b: c\n", 8, "al:1: bad local part");
	parse_bad("a: b@\n", 6, "al:1: bad address");
	parse_bad("x\nA: b\n", 7, "al:1: expected");
	parse_bad("A: b\nx: y\n a: c\n", 16, "al:3: blank or");
	parse_bad("A: b\nx: y\na: c\n", 15, "al:3: a listed twice (also on "
	    "line 1)");
}

Test(aliases, entry_and_target_limits)
{
	struct buf b;
	struct aliases *a = NULL;
	int rc;

	buf_init(&b, 0);
	for (int i = 0; i < ALIASES_ENTRIES_MAX; i++)
		buf_printf(&b, "user%d@example.test: t%d\n", i, i);
	a = parse_ok(buf_cstr(&b));
	cr_assert_eq(aliases_count(a), ALIASES_ENTRIES_MAX);
	cr_assert_str_eq(expand(a, "User99999@Example.Test", &rc),
	    "t99999@example.test");
	aliases_free(a);
	buf_puts(&b, "one: more\n");
	parse_bad(b.data, b.len, "more than 100000 aliases");
	buf_reset(&b);
	buf_puts(&b, "l: t0");
	for (int i = 1; i <= ALIASES_TARGETS_MAX; i++)
		buf_printf(&b, ",\n t%d", i);
	parse_bad(b.data, b.len, "more than 1000 targets for l");
	buf_free(&b);
}

Test(aliases, random_bytes_never_crash)
{
	char text[512];
	struct aliases *a;

	srand(5);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)rand() % sizeof(text);

		for (size_t i = 0; i < n; i++)
			text[i] = "ab@:, \n\t#.\"|x\0\r<>"[rand() % 18];
		a = NULL;
		if (aliases_parse(&a, "r", text, n, err, sizeof(err)) == 0) {
			int rc;

			expand(a, "a@localhost", &rc);
			expand(a, "b@localhost", &rc);
			aliases_free(a);
		} else {
			cr_assert(strncmp(err, "r", 1) == 0, "%s", err);
		}
	}
}

static void write_file(const char *path, const char *text)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(rename(tmp, path), 0);
}

Test(aliases, load_and_refresh)
{
	char dir[] = "/tmp/test_aliases.XXXXXX", path[4096];
	struct aliases *a = NULL;
	struct timespec pause = { 1, 100000000 };
	int rc;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/aliases", dir);
	/* Missing: an empty set; "" too. */
	cr_assert_eq(aliases_load(&a, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(aliases_count(a), 0);
	cr_assert_eq(aliases_refresh(&a, path, err, sizeof(err)), 0);
	write_file(path, "a: b\n");
	nanosleep(&pause, NULL);
	cr_assert_eq(aliases_refresh(&a, path, err, sizeof(err)), 1, "%s", err);
	cr_assert(aliases_is_alias(a, "a@localhost"));
	/* At most one stat per second: a change right now is seen later. */
	write_file(path, "a: b\nc: d\n");
	cr_assert_eq(aliases_refresh(&a, path, err, sizeof(err)), 0);
	nanosleep(&pause, NULL);
	cr_assert_eq(aliases_refresh(&a, path, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(aliases_count(a), 2);
	/* A broken version: reported once, the old snapshot kept. */
	write_file(path, "a: b\nbroken\n");
	nanosleep(&pause, NULL);
	rc = aliases_refresh(&a, path, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert(strstr(err, "/aliases:2: expected") != NULL, "%s", err);
	cr_assert_eq(aliases_count(a), 2);
	nanosleep(&pause, NULL);
	cr_assert_eq(aliases_refresh(&a, path, err, sizeof(err)), 0);
	/* Removed: an empty set again. */
	unlink(path);
	nanosleep(&pause, NULL);
	cr_assert_eq(aliases_refresh(&a, path, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(aliases_count(a), 0);
	aliases_free(a);
	a = NULL;
	cr_assert_eq(aliases_load(&a, "", err, sizeof(err)), 0);
	cr_assert_eq(aliases_refresh(&a, "", err, sizeof(err)), 0);
	aliases_free(a);
	a = NULL;
	cr_assert_eq(aliases_load(&a, dir, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a regular file") != NULL, "%s", err);
	rmdir(dir);
}
