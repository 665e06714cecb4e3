/* Unit tests for queue/qmgr_arec.c: the records a delivery agent may send
 * (HELLO, RCPT, DONE) are accepted exactly when well formed, and every
 * hostile variant (wrong type or flags, missing, duplicate or unknown
 * attributes, bad numbers, a DSN that contradicts its class, texts with
 * line breaks or NUL, oversized fields, truncated attributes, random
 * bytes) is refused with a reason, never a crash. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdlib.h>
#include <string.h>

#include "lib/ipc.h"
#include "lib/mem.h"
#include "queue/qmgr.h"

struct attr {
	uint16_t tag;
	char val[80];
	int len;		/* -1: strlen(val); else the bytes to send */
};

/* Arrays, not pointers: Criterion re-executes each case in a child
 * process whose load address differs. */
struct rec_case {
	uint16_t type, flags;
	struct attr a[7];
	int n;
	char why[48];		/* "" for accepted */
};

static const char *parse(const struct rec_case *c, struct buf *b,
    struct qm_arec *r)
{
	struct ipc_msg m;
	size_t off = ipc_begin(b, c->type, 5);

	for (int i = 0; i < c->n; i++)
		ipc_put(b, c->a[i].tag, c->a[i].val, c->a[i].len < 0 ?
		    strlen(c->a[i].val) : (size_t)c->a[i].len);
	ipc_end(b, off);
	b->data[2] = (char)c->flags;
	cr_assert(ipc_decode(b->data, b->len, &m) > 0);
	return qm_arec_parse(&m, r);
}

#define A(t, v) { t, v, -1 }
#define IDX(v) A(IPC_A_RCPT_IDX, v)
#define CLS(v) A(IPC_A_CLASS, v)
#define DSN(v) A(IPC_A_DSN, v)

ParameterizedTestParameters(qmgr_arec, hostile_records)
{
	static struct rec_case t[] = {
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "100") }, 2, "" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "local"),
		  A(IPC_A_SLOTS, "100000") }, 2, "" },
		{ IPC_AG_HELLO, 1, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "1") }, 2, "nonzero flags" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote") }, 1,
		  "HELLO without KIND or SLOTS" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_SLOTS, "1") }, 1,
		  "HELLO without KIND or SLOTS" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "Remote"),
		  A(IPC_A_SLOTS, "1") }, 2, "bad KIND" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_KIND, "local"), A(IPC_A_SLOTS, "1") }, 3,
		  "duplicate KIND" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "0") }, 2, "bad SLOTS" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "100001") }, 2, "bad SLOTS" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "01") }, 2, "bad SLOTS" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "-1") }, 2, "bad SLOTS" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "99999999999999999999") }, 2, "bad SLOTS" },
		{ IPC_AG_HELLO, 0, { A(IPC_A_KIND, "remote"),
		  A(IPC_A_SLOTS, "1"), A(IPC_A_TEXT, "x") }, 3,
		  "unknown HELLO attribute" },
		{ IPC_AG_HELLO, 0, { { IPC_A_KIND, "remote\0x", 8 },
		  A(IPC_A_SLOTS, "1") }, 2, "bad KIND" },
		{ IPC_AG_DONE, 0, { { 0 } }, 0, "" },
		{ IPC_AG_DONE, 0, { A(IPC_A_TEXT, "") }, 1,
		  "DONE with attributes" },
		{ IPC_AG_JOB, 0, { { 0 } }, 0, "unexpected record type" },
		{ IPC_QW_BEGIN, 0, { { 0 } }, 0, "unexpected record type" },
		{ IPC_CTL_REQ, 0, { { 0 } }, 0, "unexpected record type" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  A(IPC_A_RELAY, "mx.example[192.0.2.1]:25"),
		  A(IPC_A_TEXT, "250 2.0.0 ok") }, 5, "" },
		{ IPC_AG_RCPT, 0, { IDX("4294967294"), CLS("bounced"),
		  DSN("5.123.123") }, 3, "" },
		{ IPC_AG_RCPT, 0, { IDX("4294967295"), CLS("sent"),
		  DSN("2.0.0") }, 3, "bad RCPT_IDX" },
		{ IPC_AG_RCPT, 0, { IDX("1"), CLS("deferred"), DSN("4.4.1"),
		  A(IPC_A_RELAY, "none"), { IPC_A_TEXT, "", 0 } }, 5, "" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent") }, 2,
		  "RCPT without RCPT_IDX, CLASS or DSN" },
		{ IPC_AG_RCPT, 0, { CLS("sent"), DSN("2.0.0") }, 2,
		  "RCPT without RCPT_IDX, CLASS or DSN" },
		{ IPC_AG_RCPT, 0, { IDX("0"), DSN("2.0.0") }, 2,
		  "RCPT without RCPT_IDX, CLASS or DSN" },
		{ IPC_AG_RCPT, 0, { IDX("0"), IDX("1"), CLS("sent"),
		  DSN("2.0.0") }, 4, "duplicate RCPT attribute" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  A(IPC_A_KIND, "remote") }, 4, "unknown RCPT attribute" },
		{ IPC_AG_RCPT, 0, { IDX("00"), CLS("sent"), DSN("2.0.0") }, 3,
		  "bad RCPT_IDX" },
		{ IPC_AG_RCPT, 0, { IDX(""), CLS("sent"), DSN("2.0.0") }, 3,
		  "bad RCPT_IDX" },
		{ IPC_AG_RCPT, 0, { IDX("1x"), CLS("sent"), DSN("2.0.0") }, 3,
		  "bad RCPT_IDX" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("delivered"), DSN("2.0.0") },
		  3, "bad CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("5.0.0") }, 3,
		  "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("deferred"), DSN("2.0.0") },
		  3, "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("bounced"), DSN("4.0.0") },
		  3, "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0") }, 3,
		  "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0.0") }, 3,
		  "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.1234.0") },
		  3, "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2..0") }, 3,
		  "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0 ") }, 3,
		  "bad DSN for its CLASS" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  A(IPC_A_TEXT, "ok\r\nmta-qmgr: forged") }, 4, "bad TEXT" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  A(IPC_A_TEXT, "ok\nforged") }, 4, "bad TEXT" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  { IPC_A_TEXT, "ok\0x", 4 } }, 4, "bad TEXT" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  A(IPC_A_RELAY, "") }, 4, "bad RELAY" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  A(IPC_A_RELAY, "a b") }, 4, "bad RELAY" },
		{ IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"), DSN("2.0.0"),
		  A(IPC_A_RELAY, "a\r\n") }, 4, "bad RELAY" },
	};

	return cr_make_param_array(struct rec_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct rec_case *c, qmgr_arec, hostile_records)
{
	struct qm_arec r;
	struct buf b;
	const char *why;

	buf_init(&b, 0);
	why = parse(c, &b, &r);
	if (c->why[0] == '\0')
		cr_assert_null(why, "type %u: refused: %s", c->type, why);
	else
		cr_assert(why != NULL && strcmp(why, c->why) == 0,
		    "type %u: want \"%s\", got \"%s\"", c->type, c->why,
		    why ? why : "(accepted)");
	buf_free(&b);
}

Test(qmgr_arec, fields_of_accepted_records)
{
	struct rec_case c = { IPC_AG_RCPT, 0, { IDX("12"), CLS("bounced"),
	    DSN("5.1.1"), A(IPC_A_TEXT, "550\tno\x01such user\x7f") }, 4, "" };
	struct qm_arec r;
	struct buf b;

	buf_init(&b, 0);
	cr_assert_null(parse(&c, &b, &r));
	cr_assert_eq(r.type, IPC_AG_RCPT);
	cr_assert_eq(r.id, 5);
	cr_assert_eq(r.idx, 12);
	cr_assert_eq(r.cls, QM_CLS_BOUNCED);
	cr_assert_str_eq(r.dsn, "5.1.1");
	cr_assert_str_eq(r.relay, "none", "RELAY defaults to none");
	cr_assert_str_eq(r.text, "550 no such user ", "controls blanked");
	buf_free(&b);
}

Test(qmgr_arec, length_limits)
{
	struct rec_case c = { IPC_AG_RCPT, 0, { IDX("0"), CLS("sent"),
	    DSN("2.0.0") }, 3, "" };
	char *text = xmalloc(QM_TEXT_MAX + 2);
	struct qm_arec r;
	struct ipc_msg m;
	struct buf b;
	size_t off;

	memset(text, 'x', QM_TEXT_MAX + 1);
	for (size_t len = QM_TEXT_MAX; len <= QM_TEXT_MAX + 1; len++) {
		buf_init(&b, 0);
		off = ipc_begin(&b, IPC_AG_RCPT, 1);
		for (int i = 0; i < c.n; i++)
			ipc_put_str(&b, c.a[i].tag, c.a[i].val);
		ipc_put(&b, IPC_A_TEXT, text, len);
		ipc_end(&b, off);
		cr_assert(ipc_decode(b.data, b.len, &m) > 0);
		cr_assert_eq(qm_arec_parse(&m, &r) == NULL,
		    len == QM_TEXT_MAX, "TEXT of %zu bytes", len);
		buf_free(&b);
	}
	/* A record longer than QM_AGENT_REC_MAX is refused whole. */
	buf_init(&b, 0);
	off = ipc_begin(&b, IPC_AG_RCPT, 1);
	for (int i = 0; i < 5; i++)
		ipc_put(&b, IPC_A_TEXT, text, QM_TEXT_MAX);
	ipc_end(&b, off);
	cr_assert(ipc_decode(b.data, b.len, &m) > 0);
	cr_assert_str_eq(qm_arec_parse(&m, &r), "record too long");
	buf_free(&b);
	free(text);
}

Test(qmgr_arec, truncated_attributes_and_random_bytes)
{
	static const char trunc[] = { 15, 0, 5, 0, 0, 0, '1' };
	char payload[256];
	struct ipc_msg m;
	struct qm_arec r;

	m.hdr.type = IPC_AG_RCPT;
	m.hdr.flags = 0;
	m.hdr.id = 1;
	m.payload = trunc;
	m.hdr.len = sizeof(trunc);
	cr_assert_str_eq(qm_arec_parse(&m, &r), "malformed attributes");
	srand(7);
	for (int round = 0; round < 100000; round++) {
		m.hdr.type = (uint16_t)(IPC_AG_HELLO + rand() % 4);
		m.hdr.len = (uint32_t)(rand() % (int)sizeof(payload));
		for (uint32_t i = 0; i < m.hdr.len; i++)
			payload[i] = (char)(rand() % 3 ? rand() % 24 :
			    "0123456789.sentbouncdfrl"[rand() % 24]);
		m.payload = payload;
		(void)qm_arec_parse(&m, &r);
	}
}
