/* Unit tests for queue/qwriter_notify.c: the watermark the writer sends the
 * queue manager (no queue ID at or below it may still have a journal
 * record: segments holding records -- current, old, being deleted -- and
 * commits not yet in a segment hold it below their lowest ID; with none it
 * is the highest ID assigned), and the bound on unread notices (NEW
 * dropped past QW_NOTIFY_MAX, then one CKPT saying "rescan"). */
#include <criterion/criterion.h>

#include <string.h>

#include "lib/ipc.h"
#include "queue/qwriter.h"

static struct qw qw;		/* large: keep it off the stack */

Test(qwriter_notify, watermark_is_below_every_live_record)
{
	struct qw_seg cur, old1, old2;
	struct qw_txn pend;

	memset(&qw, 0, sizeof(qw));
	memset(&cur, 0, sizeof(cur));
	memset(&old1, 0, sizeof(old1));
	memset(&old2, 0, sizeof(old2));
	memset(&pend, 0, sizeof(pend));
	qw.last_qid = 1000;
	cr_assert_eq(qw_watermark(&qw), 1000, "nothing journaled");
	qw.cur = &cur;
	cr_assert_eq(qw_watermark(&qw), 1000, "an empty segment holds nothing");
	pend.msg.qid = 990;
	qw.pend_head = &pend;
	cr_assert_eq(qw_watermark(&qw), 989, "a commit waiting for its group");
	cur.min_qid = 900;
	cr_assert_eq(qw_watermark(&qw), 899);
	old1.min_qid = 0;		/* retired empty */
	old2.min_qid = 500;
	old1.next = &old2;
	qw.old = &old1;
	cr_assert_eq(qw_watermark(&qw), 499, "an old segment not synced yet");
	qw.del_lo = 300;
	cr_assert_eq(qw_watermark(&qw), 299, "a deletion not durable yet");
	qw.del_lo = 0;
	qw.old = NULL;
	qw.pend_head = NULL;
	qw.cur = NULL;
	cr_assert_eq(qw_watermark(&qw), 1000);
}

/* The last record in b: its type and its TEXT attribute (or ""). */
static uint16_t last_record(const struct buf *b, char *text, size_t n)
{
	struct ipc_msg m, last = { 0 };
	size_t at = 0;
	long used;

	while ((used = ipc_decode(b->data + at, b->len - at, &m)) > 0) {
		last = m;
		at += (size_t)used;
	}
	text[0] = '\0';
	if (last.hdr.type != 0) {
		struct ipc_iter it;
		const char *v;
		uint32_t len;
		uint16_t tag;

		ipc_iter_init(&it, &last);
		while (ipc_next(&it, &tag, &v, &len) == 1)
			if (tag == IPC_A_TEXT && len < n) {
				memcpy(text, v, len);
				text[len] = '\0';
			}
	}
	return last.hdr.type;
}

Test(qwriter_notify, a_subscriber_that_does_not_read_gets_rescan)
{
	static struct qw_client c;
	char text[32];

	memset(&qw, 0, sizeof(qw));
	memset(&c, 0, sizeof(c));
	c.qw = &qw;
	c.own = 1;
	c.sending = 1;		/* a send in flight: records stay in out */
	buf_init(&c.out, 0);
	buf_init(&c.sendbuf, 0);
	qw.subscriber = &c;
	qw.last_qid = 0x42;
	qw_notify_new(&qw, "0000000000000041");
	cr_assert_eq(last_record(&c.out, text, sizeof(text)), IPC_QM_NEW);
	/* More than QW_NOTIFY_MAX unread: NEW notices are dropped... */
	while (c.out.len <= QW_NOTIFY_MAX)
		qw_notify_new(&qw, "0000000000000041");
	size_t len = c.out.len;
	qw_notify_new(&qw, "0000000000000042");
	cr_assert_eq(c.out.len, len, "dropped, not queued");
	cr_assert_eq(qw.notify_dropped, 1);
	/* ...and the next CKPT says rescan, once. */
	qw_notify_ckpt(&qw);
	cr_assert_eq(last_record(&c.out, text, sizeof(text)), IPC_QM_CKPT);
	cr_assert_str_eq(text, "rescan");
	cr_assert_eq(qw.notify_dropped, 0);
	buf_reset(&c.out);
	qw_notify_new(&qw, "0000000000000043");
	cr_assert_eq(last_record(&c.out, text, sizeof(text)), IPC_QM_NEW);
	qw_notify_ckpt(&qw);
	cr_assert_eq(last_record(&c.out, text, sizeof(text)), IPC_QM_CKPT);
	cr_assert_str_eq(text, "");
	/* Gone: nothing is queued for it any more. */
	qw_notify_gone(&c);
	cr_assert_null(qw.subscriber);
	len = c.out.len;
	qw_notify_new(&qw, "0000000000000044");
	cr_assert_eq(c.out.len, len);
	buf_free(&c.out);
	buf_free(&c.sendbuf);
}
