/* qwriter_txn: one transaction from BEGIN to the queued image.  BEGIN's
 * attributes are validated here (structure errors are protocol violations
 * that drop the client; a bad address or an oversize message is remembered
 * and answered at COMMIT).  At COMMIT the queue ID is assigned and the file
 * head, trailer and journal record header are built around the content,
 * which is never copied again. */
#include "queue/qwriter.h"
#include "lib/addr.h"
#include "lib/crc32c.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QW_TEXT_ATTR_MAX 1024	/* CLIENT, HELO */
#define QW_RESERVE_MAX (1024 * 1024)	/* pre-allocation from SIZE */

struct txn_attrs {
	const char *origin, *sender, *client, *helo, *body;
	uint32_t origin_len, sender_len, client_len, helo_len, body_len;
	int smtputf8, have_sender;
	uint64_t size;
};

static int attr_is(const char *v, uint32_t n, const char *s)
{
	return n == strlen(s) && memcmp(v, s, n) == 0;
}

/* A text attribute as a string; NUL bytes (never legitimate) become '?'. */
static char *attr_text(const char *v, uint32_t n)
{
	char *s = xstrndup(v, n);

	for (uint32_t i = 0; i < n; i++)
		if (s[i] == '\0')
			s[i] = '?';
	return s;
}

static int attr_number(const char *v, uint32_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* Canonical "local@domain" of an envelope address, or NULL. */
static char *txn_addr(const char *v, uint32_t n, int is_sender, int utf8)
{
	unsigned flags = (is_sender ? ADDR_ALLOW_NULL : 0) |
	    (utf8 ? ADDR_ALLOW_UTF8 : 0);
	char out[ADDR_PATH_MAX + 8];
	struct addr a;
	size_t end;

	if (n > ADDR_PATH_MAX + 2 || memchr(v, '\0', n) != NULL ||
	    addr_parse_path(v, n, flags, &a, &end) != ADDR_OK || end != n ||
	    addr_format(&a, out, sizeof(out)) < 0)
		return NULL;
	return xstrdup(out);
}

static void txn_set_err(struct qw_txn *t, int type, const char *text)
{
	if (t->err == 0) {
		t->err = type;
		t->errtext = text;
	}
}

static const char *txn_attr(struct qw_txn *t, struct txn_attrs *a,
    uint16_t tag, const char *v, uint32_t n)
{
	switch (tag) {
	case IPC_A_ORIGIN:
		if (a->origin || !(attr_is(v, n, "smtp") ||
		    attr_is(v, n, "sendmail") || attr_is(v, n, "qmgr")))
			return "bad ORIGIN";
		a->origin = v, a->origin_len = n;
		return NULL;
	case IPC_A_SENDER:
		if (a->have_sender)
			return "duplicate SENDER";
		a->have_sender = 1, a->sender = v, a->sender_len = n;
		return NULL;
	case IPC_A_RCPT:
		if (n == 0)
			return "empty RCPT";
		t->msg.rcpts = xreallocarray(t->msg.rcpts, t->msg.nrcpt + 1,
		    sizeof(*t->msg.rcpts));
		memset(&t->msg.rcpts[t->msg.nrcpt], 0, sizeof(t->msg.rcpts[0]));
		t->msg.rcpts[t->msg.nrcpt].status = QUEUE_RCPT_PENDING;
		/* Raw for now; validated once SMTPUTF8 is known. */
		t->msg.rcpts[t->msg.nrcpt++].addr = attr_text(v, n);
		if (memchr(v, '\0', n) != NULL)
			txn_set_err(t, IPC_QW_REJECT, QW_TEXT_ADDR);
		return n > ADDR_PATH_MAX + 2 ? "RCPT too long" : NULL;
	case IPC_A_CLIENT:
	case IPC_A_HELO:
		if (n > QW_TEXT_ATTR_MAX)
			return "CLIENT or HELO too long";
		if (tag == IPC_A_CLIENT)
			a->client = v, a->client_len = n;
		else
			a->helo = v, a->helo_len = n;
		return NULL;
	case IPC_A_BODY:
		if (!(attr_is(v, n, "7BIT") || attr_is(v, n, "8BITMIME") ||
		    attr_is(v, n, "BINARYMIME")))
			return "bad BODY";
		a->body = v, a->body_len = n;
		return NULL;
	case IPC_A_SMTPUTF8:
		a->smtputf8 = 1;
		return NULL;
	case IPC_A_SIZE:
		return attr_number(v, n, &a->size) < 0 ? "bad SIZE" : NULL;
	case IPC_A_UID:
		return NULL;	/* never trusted: SO_PEERCRED tells */
	default:
		return "unknown attribute";
	}
}

/* Fill the envelope from validated attributes. */
static void txn_envelope(struct qw_txn *t, struct txn_attrs *a)
{
	struct qw_client *c = t->client;
	int smtp = attr_is(a->origin, a->origin_len, "smtp");
	int qmgr = attr_is(a->origin, a->origin_len, "qmgr");
	int rc;

	if ((smtp && !c->trusted) || (qmgr && !c->own)) {
		log_warn("client uid=%u pid=%ld: claims ORIGIN %s; recorded "
		    "as sendmail", (unsigned)c->uid, (long)c->pid,
		    smtp ? "smtp" : "qmgr");
		smtp = qmgr = 0;
	}
	t->msg.origin = xstrdup(smtp ? "smtp" : qmgr ? "qmgr" : "sendmail");
	t->msg.client = smtp && a->client ? attr_text(a->client, a->client_len)
	    : xstrdup("");
	t->msg.helo = smtp && a->helo ? attr_text(a->helo, a->helo_len) :
	    xstrdup("");
	t->msg.body = a->body ? xstrndup(a->body, a->body_len) :
	    xstrdup("7BIT");
	t->msg.smtputf8 = a->smtputf8;
	t->msg.uid = (int64_t)c->uid;
	t->msg.sender = txn_addr(a->sender, a->sender_len, 1, a->smtputf8);
	if (t->msg.sender == NULL) {
		t->msg.sender = xstrdup("");
		txn_set_err(t, IPC_QW_REJECT, QW_TEXT_ADDR);
	}
	for (size_t i = 0; i < t->msg.nrcpt; i++) {
		char *raw = t->msg.rcpts[i].addr, *ok;

		ok = txn_addr(raw, (uint32_t)strlen(raw), 0, a->smtputf8);
		if (ok == NULL) {
			txn_set_err(t, IPC_QW_REJECT, QW_TEXT_ADDR);
			continue;
		}
		free(raw);
		t->msg.rcpts[i].addr = ok;
	}
	if (t->err == 0 && (rc = qw_alias_expand(t)) < 0)
		txn_set_err(t, IPC_QW_TEMPFAIL, qw_alias_error(rc));
	if (a->size > t->qw->content_limit)
		txn_set_err(t, IPC_QW_REJECT, QW_TEXT_SIZE);
	else if (a->size > 0)	/* one allocation for the usual message */
		buf_reserve(&t->content, a->size < QW_RESERVE_MAX ?
		    (size_t)a->size + 1024 : QW_RESERVE_MAX);
	if (t->qw->drain != QW_RUNNING)
		txn_set_err(t, IPC_QW_TEMPFAIL, QW_TEXT_DOWN);
}

struct qw_txn *qw_txn_begin(struct qw_client *c, uint64_t id,
    const char *payload, size_t len, const char **why)
{
	struct ipc_msg m = { .hdr = { .type = IPC_QW_BEGIN, .flags = 0,
	    .len = (uint32_t)len, .id = id }, .payload = payload };
	struct txn_attrs a;
	struct qw_txn *t = xcalloc(1, sizeof(*t));
	struct ipc_iter it;
	const char *v;
	uint32_t n;
	uint16_t tag;
	int rc;

	memset(&a, 0, sizeof(a));
	t->qw = c->qw;
	t->client = c;
	t->id = id;
	t->pub_fd = -1;
	buf_init(&t->content, 0);
	buf_init(&t->head, 0);
	buf_init(&t->aliaslog, 0);
	*why = NULL;
	ipc_iter_init(&it, &m);
	while (*why == NULL && (rc = ipc_next(&it, &tag, &v, &n)) == 1)
		*why = txn_attr(t, &a, tag, v, n);
	if (*why == NULL && rc < 0)
		*why = "malformed attributes";
	if (*why == NULL && (!a.origin || !a.have_sender || !t->msg.nrcpt))
		*why = "BEGIN without ORIGIN, SENDER or RCPT";
	if (*why != NULL) {
		t->client = NULL;
		qw_txn_free(t);
		return NULL;
	}
	txn_envelope(t, &a);
	return t;
}

void qw_txn_data(struct qw_txn *t, const char *p, size_t n)
{
	if (t->err != 0)
		return;
	if (n > t->qw->content_limit - t->content.len) {
		txn_set_err(t, IPC_QW_REJECT, QW_TEXT_SIZE);
		buf_free(&t->content);
		return;
	}
	if (buf_append(&t->content, p, n) < 0)
		panic("content buffer");
}

void qw_txn_answer(struct qw_txn *t, uint16_t type, const char *text)
{
	struct qw_client *c = t->client;

	if (c == NULL)
		return;
	t->client = NULL;
	if (type == IPC_QW_QUEUED)
		qw_client_reply(c, type, t->id, IPC_A_QID, t->name);
	else
		qw_client_reply(c, type, t->id, IPC_A_TEXT, text);
	c->committed--;
	if (c->closing && c->committed == 0)
		qw_client_release(c);
}

/* Head, trailer and journal header around the content. */
static int txn_build(struct qw_txn *t)
{
	struct timespec ts;
	uint32_t crc;
	char xx[3];

	clock_gettime(CLOCK_REALTIME, &ts);
	t->msg.qid = qid_next();
	t->qw->last_qid = t->msg.qid;
	t->msg.arrival_us = (uint64_t)ts.tv_sec * 1000000u +
	    (uint64_t)ts.tv_nsec / 1000u;
	t->msg.content = t->content.data;
	t->msg.content_len = t->content.len;
	if (queue_file_encode_head(&t->msg, &t->head) < 0)
		return -EINVAL;
	qid_format(t->msg.qid, t->name);
	qid_hash_dir(t->msg.qid, xx);
	snprintf(t->dest, sizeof(t->dest), "%s/%s", xx, t->name);
	/* New recipients' status fields are the CRC placeholder itself. */
	crc = crc32c(crc32c(0, t->head.data, t->head.len), t->content.data,
	    t->content.len);
	queue_file_trailer(crc, t->trailer);
	crc = crc32c(crc, t->trailer, QUEUE_TRAILER_LEN);
	journal_rec_header(t->jhdr, JOURNAL_REC_IMAGE, t->msg.qid,
	    t->head.len + t->content.len + QUEUE_TRAILER_LEN, crc);
	return 0;
}

void qw_txn_commit(struct qw_txn *t)
{
	struct qw *qw = t->qw;

	if (t->err == 0 && txn_build(t) < 0)
		txn_set_err(t, IPC_QW_REJECT, "5.3.0 Cannot encode the message");
	if (t->err != 0) {
		qw_txn_answer(t, (uint16_t)t->err, t->errtext);
		qw_txn_free(t);
		return;
	}
	t->next = NULL;
	*qw->pend_tail = t;
	qw->pend_tail = &t->next;
	qw->npend++;
}

void qw_txn_free(struct qw_txn *t)
{
	if (t->client != NULL && t->client->data_txn == t)
		t->client->data_txn = NULL;
	queue_msg_free(&t->msg);
	buf_free(&t->content);
	buf_free(&t->head);
	buf_free(&t->aliaslog);
	free(t);
}
