/* Unit tests for lib/maildir: address checks, paths, names with S=/W=,
 * name parsing (hostile names too) and the POP3 wire-size count across
 * split pieces. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/maildir.h"

Test(maildir, address_ok)
{
	cr_assert(maildir_address_ok("alice@localhost"));
	cr_assert(maildir_address_ok("Al.ice+tag_1-x@Example.TEST"));
	cr_assert(!maildir_address_ok("alice"));
	cr_assert(!maildir_address_ok("@localhost"));
	cr_assert(!maildir_address_ok(".alice@localhost"));
	cr_assert(!maildir_address_ok("alice.@localhost"));
	cr_assert(!maildir_address_ok("a..b@localhost"));
	cr_assert(!maildir_address_ok("a/b@localhost"));
	cr_assert(!maildir_address_ok("../x@localhost"));
	cr_assert(!maildir_address_ok("alice@../etc"));
	cr_assert(!maildir_address_ok("alice@a/b"));
	cr_assert(!maildir_address_ok("al ice@localhost"));
	cr_assert(!maildir_address_ok("\"a\"@localhost"));
	char big[100];
	memset(big, 'a', 65);
	snprintf(big + 65, sizeof(big) - 65, "@localhost");
	cr_assert(!maildir_address_ok(big));
	big[1] = '\0';
	cr_assert(maildir_address_ok("a@localhost"));
}

Test(maildir, path_lowercases_below_root)
{
	char p[256];

	cr_assert_eq(maildir_path("/Var/mail", "Alice@LocalHost", p,
	    sizeof(p)), 0);
	cr_assert_str_eq(p, "/Var/mail/localhost/alice/Maildir");
	cr_assert_eq(maildir_path("/v", "a/b@localhost", p, sizeof(p)),
	    -EINVAL);
	cr_assert_eq(maildir_path("/var/mail", "alice@localhost", p, 10),
	    -ENAMETOOLONG);
}

Test(maildir, create_makes_parents_and_subdirs)
{
	char root[] = "/tmp/test_maildir_XXXXXX", p[512], sub[600];
	struct stat st;

	cr_assert_not_null(mkdtemp(root));
	cr_assert_eq(maildir_path(root, "bob@example.test", p, sizeof(p)), 0);
	cr_assert_eq(maildir_create(root, p), 0);
	cr_assert_eq(maildir_create(root, p), 0);	/* idempotent */
	snprintf(sub, sizeof(sub), "%s/new", p);
	cr_assert_eq(stat(sub, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	cr_assert_eq(maildir_create("/elsewhere", p), -EINVAL);
	snprintf(sub, sizeof(sub), "rm -rf %s", root);
	cr_assert_eq(system(sub), 0);
}

Test(maildir, name_round_trip)
{
	char n[MAILDIR_NAME_MAX + 1], cur[MAILDIR_NAME_MAX + 8];
	uint64_t s, w;
	size_t u;

	cr_assert_eq(maildir_name(n, sizeof(n), 1764150000123456ULL, 812, 7,
	    "mx/1:a,b", 5120, 5230), 0);
	cr_assert_str_eq(n, "1764150000.M123456P812Q7.mx_1_a_b,S=5120,W=5230");
	cr_assert_eq(maildir_name_parse(n, &s, &w, &u), 0);
	cr_assert_eq(s, 5120);
	cr_assert_eq(w, 5230);
	cr_assert_eq(u, strlen(n));
	snprintf(cur, sizeof(cur), "%s:2,S", n);
	cr_assert_eq(maildir_name_parse(cur, &s, &w, &u), 0);
	cr_assert_eq(u, strlen(n));
	cr_assert_eq(w, 5230);
}

Test(maildir, name_parse_foreign_and_hostile)
{
	uint64_t s, w;
	size_t u;

	cr_assert_eq(maildir_name_parse("1.2.host", &s, &w, &u), 0);
	cr_assert_eq(s, UINT64_MAX);
	cr_assert_eq(w, UINT64_MAX);
	cr_assert_eq(maildir_name_parse("1.2.h,S=99999999999999999999999",
	    &s, &w, &u), 0);
	cr_assert_eq(s, UINT64_MAX);	/* overflow: treated as absent */
	cr_assert_eq(maildir_name_parse("1.2.h,S=,W=x", &s, &w, &u), 0);
	cr_assert_eq(s, UINT64_MAX);
	cr_assert_eq(maildir_name_parse("1.2.h:2,S=5", &s, &w, &u), 0);
	cr_assert_eq(s, UINT64_MAX);	/* flags are not sizes */
	cr_assert_eq(maildir_name_parse(".hidden", &s, &w, &u), -EINVAL);
	cr_assert_eq(maildir_name_parse("", &s, &w, &u), -EINVAL);
	cr_assert_eq(maildir_name_parse(":2,", &s, &w, &u), -EINVAL);
}

static uint64_t wire_of(const char *s, size_t split)
{
	struct maildir_wire w;
	size_t n = strlen(s);
	uint64_t out;

	maildir_wire_init(&w);
	out = maildir_wire_count(&w, s, split);
	out += maildir_wire_count(&w, s + split, n - split);
	return out + maildir_wire_end(&w);
}

Test(maildir, wire_size)
{
	const char *lf = "a\nbb\n", *crlf = "a\r\nbb\r\n", *open = "a\nb";
	const char *bare_cr = "a\rb\n";

	for (size_t k = 0; k <= strlen(crlf); k++) {
		if (k <= strlen(lf))
			cr_assert_eq(wire_of(lf, k), 7);
		cr_assert_eq(wire_of(crlf, k), 7, "split %zu", k);
		if (k <= strlen(open))
			cr_assert_eq(wire_of(open, k), 3 + 1 + 2);
		if (k <= strlen(bare_cr))
			cr_assert_eq(wire_of(bare_cr, k), 5);
	}
	cr_assert_eq(wire_of("", 0), 0);
	cr_assert_eq(wire_of("\n\n", 1), 4);
	cr_assert_eq(wire_of("x\r", 1), 2 + 2);	/* CR at end: CRLF added */
}
