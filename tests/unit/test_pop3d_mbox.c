/* Unit tests for pop3d's Maildir side: pop3d_wire (LF -> CRLF, a CRLF
 * kept as one also when split between pieces, dot-stuffing, the final
 * CRLF, TOP's line count; its octets equal maildir_wire_count's),
 * pop3d_mbox (new/ -> cur/, order by delivery time, W= or counted sizes,
 * UIDLs and their digest form, the lock, UPDATE); the failed-login table
 * is lib/authfail (test_authfail). */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/maildir.h"
#include "lib/mem.h"
#include "pop3d/pop3d_mbox.h"
#include "pop3d/pop3d_wire.h"

/* Convert in whole, or one byte at a time (piece == 1). */
static char *convert(const char *in, long top, size_t piece)
{
	struct pop3d_wire w;
	struct buf out;
	size_t n = strlen(in), off = 0;

	buf_init(&out, 0);
	pop3d_wire_init(&w, top);
	while (off < n && !w.done) {
		size_t k = piece && n - off > piece ? piece : n - off;

		off += pop3d_wire_conv(&w, in + off, k, &out);
	}
	pop3d_wire_end(&w, &out);
	return xstrdup(buf_cstr(&out));
}

static void check(const char *in, long top, const char *want)
{
	for (size_t piece = 0; piece < 3; piece++) {
		char *got = convert(in, top, piece);

		cr_assert_str_eq(got, want, "piece %zu: in \"%s\"", piece, in);
		free(got);
	}
}

Test(pop3d_wire, crlf_whatever_the_stored_form)
{
	check("a\nb\n", -1, "a\r\nb\r\n.\r\n");
	check("a\r\nb\r\n", -1, "a\r\nb\r\n.\r\n");
	check("a\r\nb\n", -1, "a\r\nb\r\n.\r\n");
	check("no final", -1, "no final\r\n.\r\n");
	check("", -1, ".\r\n");
	check("bare\rcr\n", -1, "bare\rcr\r\n.\r\n");
}

Test(pop3d_wire, stuffs_leading_dots)
{
	check(".\n..x\na.b\n.", -1, "..\r\n...x\r\na.b\r\n..\r\n.\r\n");
	check("\r\n.\r\n", -1, "\r\n..\r\n.\r\n");
}

Test(pop3d_wire, top_sends_header_blank_and_n_lines)
{
	const char *m = "H: 1\nH: 2\n\nb1\nb2\n.b3\n";

	check(m, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n");
	check(m, 1, "H: 1\r\nH: 2\r\n\r\nb1\r\n.\r\n");
	check(m, 3, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n..b3\r\n.\r\n");
	check(m, 50, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n..b3\r\n.\r\n");
	check("H: 1\r\n\r\nb1\r\nb2\r\n", 1, "H: 1\r\n\r\nb1\r\n.\r\n");
	check("H: only", 2, "H: only\r\n.\r\n");
}

Test(pop3d_wire, octets_match_maildir_wire_count)
{
	static const char *const v[] = { "a\nb", "a\r\n.b\n", "x\r", "",
	    "\n\n\r\n", ".." };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct maildir_wire mw;
		char *got = convert(v[i], -1, 0);
		size_t dots = 0, n = strlen(got) - 3;	/* minus ".\r\n" */
		uint64_t want;

		for (size_t k = 0; k < n; k++)	/* stuffing is not counted */
			if (got[k] == '.' && (k == 0 || got[k - 1] == '\n'))
				dots++;
		maildir_wire_init(&mw);
		want = maildir_wire_count(&mw, v[i], strlen(v[i]));
		want += maildir_wire_end(&mw);
		cr_assert_eq(n - dots, want, "\"%s\"", v[i]);
		free(got);
	}
}

Test(pop3d_mbox, uidl_is_the_unique_name_or_a_digest)
{
	char out[POP3D_UIDL_MAX + 1], name[100];

	pop3d_mbox_uidl("1700000000.M1P2Q3.host,S=5,W=6:2,", 27, out);
	cr_assert_str_eq(out, "1700000000.M1P2Q3.host,S=5,");
	memset(name, 'a', sizeof(name));
	pop3d_mbox_uidl(name, 70, out);
	cr_assert_eq(strlen(out), 70);
	pop3d_mbox_uidl(name, 71, out);
	cr_assert_eq(strlen(out), 64);
	cr_assert(strspn(out, "0123456789abcdef") == 64);
	pop3d_mbox_uidl("has space", 9, out);
	cr_assert_eq(strlen(out), 64);
	pop3d_mbox_uidl("caf\xc3\xa9", 5, out);
	cr_assert_eq(strlen(out), 64);
}

Test(pop3d_mbox, time_from_the_name)
{
	uint64_t s, u;

	pop3d_mbox_time("1700000000.M123P4Q5.host", &s, &u);
	cr_assert(s == 1700000000 && u == 123);
	pop3d_mbox_time("1700000001.12345_1.host", &s, &u);
	cr_assert(s == 1700000001 && u == 0);
	pop3d_mbox_time("junk", &s, &u);
	cr_assert(s == 0 && u == 0);
}

static char tmpdir[64];

static void put(const char *sub, const char *name, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", tmpdir, sub, name);
	cr_assert((f = fopen(path, "w")) != NULL);
	fputs(content, f);
	fclose(f);
}

static void make_maildir(void)
{
	char path[512];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pop3d-mbox-XXXXXX");
	cr_assert(mkdtemp(tmpdir) != NULL);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir,
		    (const char *[]){ "tmp", "new", "cur" }[i]);
		cr_assert(mkdir(path, 0700) == 0);
	}
}

static void rm_maildir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)!system(cmd);
}

Test(pop3d_mbox, lists_oldest_first_with_wire_sizes, .fini = rm_maildir)
{
	struct pop3d_mbox mb, other;

	make_maildir();
	put("new", "1700000003.M1P1Q1.h", "c\n");
	put("new", "1700000001.M900P1Q1.h,S=2,W=3", "a\n");
	put("cur", "1700000001.M20P1Q1.h:2,S", "b\nb\nno end");
	put("new", ".hidden", "x");
	put("cur", "1700000002.M1P1Q1.h,S=1,W=99:2,", "d");
	cr_assert_eq(pop3d_mbox_open_path(&mb, tmpdir), 0);
	cr_assert_eq(mb.n, 4);
	cr_assert_str_eq(mb.msg[0].name, "1700000001.M20P1Q1.h:2,S");
	cr_assert_eq(mb.msg[0].wire, 14);	/* counted: no W= */
	cr_assert_str_eq(mb.msg[0].uidl, "1700000001.M20P1Q1.h");
	cr_assert_str_eq(mb.msg[1].name, "1700000001.M900P1Q1.h,S=2,W=3:2,");
	cr_assert_eq(mb.msg[1].wire, 3);
	cr_assert_str_eq(mb.msg[1].uidl, "1700000001.M900P1Q1.h,S=2,W=3");
	cr_assert_eq(mb.msg[2].wire, 99);	/* W= is trusted */
	cr_assert_str_eq(mb.msg[3].uidl, "1700000003.M1P1Q1.h");
	cr_assert_eq(mb.total, 14 + 3 + 99 + 3);
	cr_assert_eq(pop3d_mbox_open_path(&other, tmpdir), -EWOULDBLOCK);
	mb.msg[1].deleted = mb.msg[3].deleted = 1;
	cr_assert_eq(pop3d_mbox_update(&mb), 2);
	pop3d_mbox_close(&mb);
	cr_assert_eq(pop3d_mbox_open_path(&mb, tmpdir), 0);
	cr_assert_eq(mb.n, 2);
	cr_assert_str_eq(mb.msg[0].uidl, "1700000001.M20P1Q1.h");
	cr_assert_str_eq(mb.msg[1].uidl, "1700000002.M1P1Q1.h,S=1,W=99");
	pop3d_mbox_close(&mb);
}

Test(pop3d_mbox, absent_mailbox_is_empty)
{
	struct pop3d_mbox mb;

	cr_assert_eq(pop3d_mbox_open_path(&mb, "/nonexistent/Maildir"), 0);
	cr_assert_eq(mb.n, 0);
	cr_assert_eq(pop3d_mbox_update(&mb), 0);
	pop3d_mbox_close(&mb);
}
