/* Unit tests for deliver/local_msg.c and local_mbox.c's quota figures:
 * the trace headers, CRLF -> LF (chunks never split a CRLF, stray CR/LF
 * kept), the stored size known up front, loop detection (Delivered-To in
 * any case, with or without <>, too many Received:), and quota accounting
 * (S= sums of new/ and cur/, reservations, a rescan after an outside
 * change). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/local_mbox.h"
#include "deliver/local_msg.h"
#include "lib/mem.h"

Test(local_msg, header_first)
{
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(local_msg_header(&b, "", "alice@localhost"), 0);
	cr_assert_str_eq(buf_cstr(&b),
	    "Return-Path: <>\nDelivered-To: alice@localhost\n");
	buf_free(&b);
}

Test(local_msg, crlf_to_lf_in_chunks)
{
	static const char in[] = "a\r\nb\rc\nd\r\n\r\nbody\r\n";
	char out[64], whole[64];
	size_t n = sizeof(in) - 1, off = 0, o = 0;

	cr_assert_eq(local_msg_lf(in, n, whole), 14);
	cr_assert_eq(memcmp(whole, "a\nb\rc\nd\n\nbody\n", 14), 0);
	cr_assert_eq(local_msg_lf_size(in, n), 14);
	while (off < n) {	/* 2-byte chunks: never split a CRLF */
		size_t end = local_msg_cut(in, n, off, 2);

		cr_assert_gt(end, off);
		o += local_msg_lf(in + off, end - off, out + o);
		off = end;
	}
	cr_assert_eq(o, 14);
	cr_assert_eq(memcmp(out, whole, 14), 0);
}

Test(local_msg, loops)
{
	static const char dt[] = "Subject: x\r\nDelivered-To: <Alice@LocalHost> \r\n"
	    "\r\nDelivered-To: alice@localhost\r\n";
	static const char body_only[] = "Subject: x\r\n\r\nDelivered-To: "
	    "alice@localhost\r\n";
	char *many;
	size_t len = 0;

	cr_assert_eq(local_msg_loop(dt, sizeof(dt) - 1, "alice@localhost"), 1);
	cr_assert_eq(local_msg_loop(dt, sizeof(dt) - 1, "bob@localhost"), 0);
	cr_assert_eq(local_msg_loop(body_only, sizeof(body_only) - 1,
	    "alice@localhost"), 0);
	many = xmalloc(200 * 32);
	for (int i = 0; i < 101; i++)
		len += (size_t)snprintf(many + len, 32, "Received: from h%d\r\n", i);
	cr_assert_eq(local_msg_loop(many, len, "a@b"), 1);
	cr_assert_eq(local_msg_loop(many, len - strlen("Received: from h100\r\n"),
	    "a@b"), 0);
	free(many);
}

static void touch(const char *dir, const char *name, size_t size)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < size; i++)
		fputc('x', f);
	fclose(f);
}

Test(local_mbox, quota_accounting)
{
	static struct local lo;
	char root[] = "/tmp/test_local_XXXXXX", box[256], d[300];
	struct local_mbox *mb;
	uint64_t used;

	cr_assert_not_null(mkdtemp(root));
	snprintf(lo.mail_root, sizeof(lo.mail_root), "%s", root);
	snprintf(box, sizeof(box), "%s/localhost/alice/Maildir", root);
	mb = local_mbox_get(&lo, box);
	cr_assert_eq(local_mbox_ready(&lo, mb), 0);
	snprintf(d, sizeof(d), "%s/new", box);
	touch(d, "1.M1P1Q1.h,S=100,W=104", 0);
	snprintf(d, sizeof(d), "%s/cur", box);
	touch(d, "2.M1P1Q2.h,S=50,W=52:2,S", 0);
	touch(d, "3.M1P1Q3.h", 7);	/* no S=: its size */
	cr_assert_eq(local_mbox_usage(mb, &used), 0);
	cr_assert_eq(used, 157);
	cr_assert_eq(local_mbox_reserve(mb, 40, 200), 0);
	cr_assert_eq(local_mbox_reserve(mb, 4, 200), -EDQUOT);
	cr_assert_eq(local_mbox_reserve(mb, 3, 200), 0);	/* exactly full */
	local_mbox_release(mb, 3, 0);
	local_mbox_release(mb, 40, 1);	/* delivered */
	cr_assert_eq(local_mbox_usage(mb, &used), 0);
	cr_assert_eq(used, 197);
	snprintf(d, sizeof(d), "%s/new", box);
	touch(d, "4.M1P1Q4.h,S=1000,W=1000", 0);	/* someone else */
	cr_assert_eq(local_mbox_usage(mb, &used), 0);
	cr_assert_eq(used, 1157, "rescanned: %llu", (unsigned long long)used);
	cr_assert_eq(local_mbox_reserve(mb, 1, 0), 0);	/* no quota */
	local_mbox_put(&lo, mb);
	local_mbox_exit(&lo);
	snprintf(d, sizeof(d), "rm -rf '%s'", root);
	cr_assert_eq(system(d), 0);
}
