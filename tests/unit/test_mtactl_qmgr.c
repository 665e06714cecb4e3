/* Unit tests for mtactl_qmgr.c and the `lasterror` index of
 * mtactl_queue.c: the queue manager's reply is validated (type, id,
 * STATUS canonical 0..255 exactly once, well-formed attributes) and its
 * "QID text" lines are indexed, malformed ones skipped. */
#include <criterion/criterion.h>

#include "master/mtactl.h"
#include "lib/ipc.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A reply record with the given STATUS values (NULL ends) and TEXT. */
static int parse(uint16_t type, uint64_t id, const char *const *status,
    const char *text, struct buf *out, int *st)
{
	struct buf rec;
	struct ipc_msg m;
	size_t off;
	int rc;

	buf_init(&rec, 0);
	off = ipc_begin(&rec, type, id);
	for (; status != NULL && *status != NULL; status++)
		ipc_put_str(&rec, IPC_A_STATUS, *status);
	if (text != NULL)
		ipc_put_str(&rec, IPC_A_TEXT, text);
	ipc_put_str(&rec, IPC_A_MAX + 7, "from a newer qmgr");
	ipc_end(&rec, off);
	cr_assert_gt(ipc_decode(rec.data, rec.len, &m), 0);
	rc = mtactl_ctl_reply(&m, 1, out, st);
	buf_free(&rec);
	return rc;
}

Test(mtactl_qmgr, reply_ok)
{
	static const char *const zero[] = { "0", NULL }, *const one[] = { "1",
		NULL }, *const max[] = { "255", NULL };
	struct buf t;
	int st = -1;

	buf_init(&t, 0);
	cr_assert_eq(parse(IPC_CTL_REPLY, 1, zero, "received 5\n", &t, &st), 0);
	cr_assert_eq(st, 0);
	cr_assert_str_eq(t.data, "received 5\n");
	cr_assert_eq(parse(IPC_CTL_REPLY, 1, one, NULL, &t, &st), 0);
	cr_assert_eq(st, 1);
	cr_assert_eq(t.len, 0, "no TEXT: empty");
	cr_assert_eq(parse(IPC_CTL_REPLY, 1, max, "", &t, &st), 0);
	cr_assert_eq(st, 255);
	buf_free(&t);
}

Test(mtactl_qmgr, reply_refused)
{
	static const char *const bad[] = { "", "00", "01", "256", "-1", "1a",
		" 1", "1000", "99999999999999999999" };
	static const char *const ok[] = { "0", NULL }, *const twice[] = { "0",
		"0", NULL };
	const char *one[2] = { NULL, NULL };
	struct buf t;
	size_t i;
	int st;

	buf_init(&t, 0);
	cr_assert_eq(parse(IPC_CTL_REQ, 1, ok, "x", &t, &st), -EPROTO, "type");
	cr_assert_eq(parse(IPC_CTL_REPLY, 2, ok, "x", &t, &st), -EPROTO, "id");
	cr_assert_eq(parse(IPC_CTL_REPLY, 1, NULL, "x", &t, &st), -EPROTO,
	    "no STATUS");
	cr_assert_eq(parse(IPC_CTL_REPLY, 1, twice, "x", &t, &st), -EPROTO);
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		one[0] = bad[i];
		cr_assert_eq(parse(IPC_CTL_REPLY, 1, one, "x", &t, &st), -EPROTO,
		    "STATUS %s", bad[i]);
	}
	buf_free(&t);
}

Test(mtactl_qmgr, reply_with_a_broken_attribute)
{
	struct buf rec, t;
	struct ipc_msg m;
	size_t off;
	int st;

	buf_init(&rec, 0);
	buf_init(&t, 0);
	off = ipc_begin(&rec, IPC_CTL_REPLY, 1);
	ipc_put_str(&rec, IPC_A_STATUS, "0");
	buf_append(&rec, "\x09\x00\xff\xff", 4);	/* TEXT, length cut off */
	ipc_end(&rec, off);
	cr_assert_gt(ipc_decode(rec.data, rec.len, &m), 0);
	cr_assert_eq(mtactl_ctl_reply(&m, 1, &t, &st), -EPROTO);
	buf_free(&rec);
	buf_free(&t);
}

Test(mtactl_qmgr, lasterror_lines_are_indexed)
{
	char text[] = "0612C8FE9D046002 451 4.7.1 greylisted\n"
	    "not a line\n"
	    "0612C8FE9D046001 connect to mx.example[192.0.2.1]:25: refused\n"
	    "0612C8FE9D04600Z bad id\n"
	    "0612C8FE9D046003\n"
	    "0612C8FE9D046004x glued\n"
	    "\n"
	    "0612C8FE9D046005 last line without newline";
	struct mtactl_lasterrs e;

	mtactl_lasterr_parse(text, strlen(text), &e);
	cr_assert_eq(e.n, 3);
	cr_assert_str_eq(mtactl_lasterr_find(&e, 0x0612C8FE9D046001ULL),
	    "connect to mx.example[192.0.2.1]:25: refused");
	cr_assert_str_eq(mtactl_lasterr_find(&e, 0x0612C8FE9D046002ULL),
	    "451 4.7.1 greylisted");
	cr_assert_str_eq(mtactl_lasterr_find(&e, 0x0612C8FE9D046005ULL),
	    "last line without newline");
	cr_assert_null(mtactl_lasterr_find(&e, 0x0612C8FE9D046003ULL));
	cr_assert_null(mtactl_lasterr_find(&e, 0x0612C8FE9D046004ULL));
	cr_assert_null(mtactl_lasterr_find(&e, 1));
	free(e.v);
}

Test(mtactl_qmgr, lasterror_empty)
{
	char text[] = "";
	struct mtactl_lasterrs e;

	mtactl_lasterr_parse(text, 0, &e);
	cr_assert_eq(e.n, 0);
	cr_assert_null(mtactl_lasterr_find(&e, 1));
	free(e.v);
}
