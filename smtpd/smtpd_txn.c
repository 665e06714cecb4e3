/* smtpd_txn: the mail transaction; see smtpd_txn.h.  Content is decoded
 * in slices of at most SMTPD_SLICE_MAX input bytes and handed to the sink
 * in records of about SMTPD_RECORD_MAX, so memory per transaction is
 * bounded whatever the message size.  A failure during content (too big,
 * bare LF refused, writer lost) is sticky: the sink transaction is aborted
 * at once, the rest of the content is consumed, and the failure is the
 * reply at the end.  Only the writer's QUEUED verdict earns a 250. */
#include "smtpd/smtpd_txn.h"
#include "smtpd/smtpd_proto.h"
#include "smtpd/smtpd_received.h"
#include "smtpd/smtpd_reply.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SMTPD_ATTR_HDR 6	/* an IPC attribute's tag and length */
/* Room in the BEGIN record for recipients after the other attributes. */
#define SMTPD_ENV_MAX (IPC_PAYLOAD_MAX - 2048)

static void verdict(struct smtpd_qtxn *q, int result, const char *text,
    size_t len);
static void wake(struct smtpd_qtxn *q);

void smtpd_txn_open(struct smtpd_session *s, const struct smtpd_mail *m)
{
	struct smtpd_txn *t = xcalloc(1, sizeof(*t));
	char sender[ADDR_PATH_MAX + 8];

	addr_format(&m->addr, sender, sizeof(sender));
	t->s = s;
	t->sender = xstrdup(sender);
	t->declared = m->size;
	t->has_size = m->has_size;
	t->body = m->body;
	t->smtputf8 = m->smtputf8;
	t->env_bytes = strlen(sender) + SMTPD_ATTR_HDR;
	buf_init(&t->dbuf, 0);
	t->q.done = verdict;
	t->q.wake = wake;
	s->txn = t;
}

int smtpd_txn_add_rcpt(struct smtpd_session *s, const struct addr *a)
{
	struct smtpd_txn *t = s->txn;
	char text[ADDR_PATH_MAX + 8];
	size_t need;

	addr_format(a, text, sizeof(text));
	need = strlen(text) + SMTPD_ATTR_HDR;
	if (t->env_bytes + need > SMTPD_ENV_MAX)
		return SMTPD_R_TOO_MANY_RCPT;
	if (t->nrcpt == t->rcpt_cap) {
		t->rcpt_cap = t->rcpt_cap ? size_add(t->rcpt_cap, t->rcpt_cap) :
		    4;
		t->rcpt = xreallocarray(t->rcpt, t->rcpt_cap, sizeof(*t->rcpt));
	}
	t->rcpt[t->nrcpt++] = xstrdup(text);
	t->env_bytes += need;
	return 0;
}

/* Abort (or forget) the transaction at the sink, if it is open there. */
static void sink_cancel(struct smtpd_session *s, struct smtpd_txn *t)
{
	if (t->q.id != 0)
		s->sink->cancel(s->sink_ctx, &t->q);
	t->q.id = 0;
	t->q.committed = 0;
	s->blocked = 0;
}

void smtpd_txn_close(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;

	if (t == NULL)
		return;
	sink_cancel(s, t);
	for (size_t i = 0; i < t->nrcpt; i++)
		free(t->rcpt[i]);
	free(t->rcpt);
	free(t->sender);
	buf_free(&t->dbuf);
	free(t);
	s->txn = NULL;
}

/* Can content start?  0 or the reply id that says why not. */
static int content_check(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;

	if (t == NULL)
		return s->helo == NULL ? SMTPD_R_NEED_HELO : SMTPD_R_NEED_MAIL;
	if (t->nrcpt == 0)
		return t->rcpt_tried ? SMTPD_R_NO_VALID_RCPT :
		    SMTPD_R_NEED_RCPT;
	return 0;
}

/* Open the transaction at the sink and put our Received: header first. */
static int content_start(struct smtpd_session *s, enum smtpd_mode mode)
{
	struct smtpd_txn *t = s->txn;
	const struct conf *c = s->conf;
	struct smtpd_env e = {
		.client = s->client_ip, .helo = s->helo, .sender = t->sender,
		.rcpt = t->rcpt, .nrcpt = t->nrcpt, .smtputf8 = t->smtputf8,
		.body = t->body == SMTPD_BODY_8BITMIME ? "8BITMIME" : "7BIT",
		.has_size = t->has_size, .size = t->declared,
	};
	struct smtpd_received_info ri = {
		.helo = s->helo, .client_ip = s->client_ip,
		.hostname = c->hostname, .esmtp = s->esmtp,
		.smtputf8 = t->smtputf8, .tls = s->tls,
		.rcpt = t->nrcpt == 1 ? t->rcpt[0] : NULL,
		.auth = s->auth_user != NULL, .auth_user = s->auth_user,
	};
	unsigned mode_flags = mode == SMTPD_M_BDAT ? SMTPD_DATA_RAW : 0;

	if (s->sink->begin(s->sink_ctx, &t->q, &e) < 0)
		return SMTPD_R_QW_DOWN;
	if (strcmp(c->smtpd_bare_lf, "reject") == 0)
		mode_flags |= SMTPD_DATA_REJECT_BARE;
	t->mode = mode;
	smtpd_data_init(&t->dec, mode_flags, c->message_size_limit);
	smtpd_received(&t->dbuf, &ri, time(NULL));
	return 0;
}

/* A failure during content: abort at the sink, drop what is buffered. */
static void content_fail(struct smtpd_session *s, int id)
{
	struct smtpd_txn *t = s->txn;

	if (t->fail != 0)
		return;
	t->fail = id;
	sink_cancel(s, t);
	buf_free(&t->dbuf);
}

static void content_check_decoder(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;

	if (!smtpd_data_ok(&t->dec))
		content_fail(s, (t->dec.flags & SMTPD_DATA_TOOBIG) ?
		    SMTPD_R_TOO_BIG : SMTPD_R_BARE_LF);
}

/* Hand buffered content to the sink as one DATA record. */
static void content_flush(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;

	if (t->fail != 0 || t->q.id == 0) {
		buf_reset(&t->dbuf);
		return;
	}
	if (t->dbuf.len > 0) {
		s->sink->data(s->sink_ctx, &t->q, t->dbuf.data, t->dbuf.len);
		t->sent += t->dbuf.len;
		buf_reset(&t->dbuf);
	}
	if (s->sink->congested(s->sink_ctx, &t->q))
		s->blocked = 1;
}

/* The end of content: commit, or give the sticky failure. */
static void content_end(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;
	int id = t->fail;

	s->state = SMTPD_S_CMD;
	s->rearm = 1;
	if (id != 0) {
		smtpd_txn_close(s);
		smtpd_proto_reply(s, id, NULL);
		return;
	}
	content_flush(s);
	s->sink->commit(s->sink_ctx, &t->q);
	t->q.committed = 1;
	s->state = SMTPD_S_QUEUE;
}

void smtpd_txn_data_cmd(struct smtpd_session *s)
{
	int rc;

	if ((rc = content_check(s)) != 0) {
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	if (s->txn->mode == SMTPD_M_BDAT) {
		smtpd_proto_reply(s, SMTPD_R_MIXED_DATA_BDAT, NULL);
		return;
	}
	if ((rc = content_start(s, SMTPD_M_DATA)) != 0) {
		smtpd_txn_close(s);
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	smtpd_proto_reply(s, SMTPD_R_DATA_GO, NULL);
	if (s->state != SMTPD_S_CLOSED)
		s->state = SMTPD_S_DATA;
}

size_t smtpd_txn_data(struct smtpd_session *s, const char *p, size_t n)
{
	struct smtpd_txn *t = s->txn;
	size_t used;

	used = smtpd_data_feed(&t->dec, p, n > SMTPD_SLICE_MAX ?
	    SMTPD_SLICE_MAX : n, &t->dbuf);
	content_check_decoder(s);
	if (t->dec.done)
		content_end(s);
	else if (t->dbuf.len >= SMTPD_RECORD_MAX)
		content_flush(s);
	return used;
}

/* The end of one BDAT chunk: its reply, or the end of the message. */
static void chunk_end(struct smtpd_session *s)
{
	struct smtpd_txn *t = s->txn;
	char count[24];
	int id = s->bdat_err;

	s->state = SMTPD_S_CMD;
	s->rearm = 1;
	if (id != 0) {
		s->bdat_err = 0;
		smtpd_proto_reply(s, id, NULL);
		return;
	}
	if (s->bdat.last) {
		smtpd_data_finish(&t->dec, &t->dbuf);
		content_check_decoder(s);
		content_end(s);
	} else if (t->fail != 0) {
		smtpd_proto_reply(s, t->fail, NULL);
	} else {
		snprintf(count, sizeof(count), "%" PRIu64, s->bdat.chunk);
		smtpd_proto_reply(s, SMTPD_R_BDAT_OK, count);
	}
}

void smtpd_txn_bdat_cmd(struct smtpd_session *s, uint64_t count, int last)
{
	int rc = content_check(s);

	if (rc == 0 && s->txn->mode == SMTPD_M_NONE &&
	    (rc = content_start(s, SMTPD_M_BDAT)) != 0)
		smtpd_txn_close(s);
	smtpd_bdat_start(&s->bdat, count, last);
	s->bdat_err = rc;
	s->state = SMTPD_S_BDAT;
	if (count == 0)
		chunk_end(s);
}

size_t smtpd_txn_bdat(struct smtpd_session *s, const char *p, size_t n)
{
	struct smtpd_txn *t = s->txn;
	size_t used, k = n > SMTPD_SLICE_MAX ? SMTPD_SLICE_MAX : n;

	if (s->bdat_err != 0 || t == NULL || t->fail != 0) {
		used = smtpd_bdat_feed(&s->bdat, NULL, p, k, NULL);
	} else {
		used = smtpd_bdat_feed(&s->bdat, &t->dec, p, k, &t->dbuf);
		content_check_decoder(s);
		if (t->dbuf.len >= SMTPD_RECORD_MAX)
			content_flush(s);
	}
	if (smtpd_bdat_done(&s->bdat))
		chunk_end(s);
	return used;
}

static int qid_text_ok(const char *text, size_t len)
{
	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((text[i] >= '0' && text[i] <= '9') ||
		    (text[i] >= 'A' && text[i] <= 'Z') ||
		    (text[i] >= 'a' && text[i] <= 'z')))
			return 0;
	return 1;
}

/* The writer says why it refused; "size" in any case means too big. */
static int mentions_size(const char *text, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (strncasecmp(text + i, "size", 4) == 0)
			return 1;
	return 0;
}

/* The reply for a verdict; logs the accepted message. */
static int verdict_reply(struct smtpd_session *s, int result,
    const char *text, size_t len, char *arg, size_t cap)
{
	struct smtpd_txn *t = s->txn;

	switch (result) {
	case SMTPD_Q_QUEUED:
		if (!qid_text_ok(text, len))
			return SMTPD_R_QW_DOWN;
		snprintf(arg, cap, "%.*s", (int)len, text);
		log_info("%s: client=[%s]%s%s%s%s, from=<%s>, size=%" PRIu64
		    ", nrcpt=%zu", arg, s->client_ip,
		    s->auth_user ? ", sasl_method=" : "",
		    s->auth_user ? s->auth_method : "",
		    s->auth_user ? ", sasl_username=" : "",
		    s->auth_user ? s->auth_user : "", t->sender, t->sent,
		    t->nrcpt);
		return SMTPD_R_QUEUED;
	case SMTPD_Q_TEMPFAIL:
		return SMTPD_R_TEMPFAIL;
	case SMTPD_Q_REJECT:
		return mentions_size(text, len) ? SMTPD_R_TOO_BIG :
		    SMTPD_R_REJECTED;
	default:
		return SMTPD_R_QW_DOWN;
	}
}

/* The sink's verdict on a committed message, or the writer lost. */
static void verdict(struct smtpd_qtxn *q, int result, const char *text,
    size_t len)
{
	struct smtpd_txn *t = container_of(q, struct smtpd_txn, q);
	struct smtpd_session *s = t->s;
	char arg[72] = "";
	int id;

	q->id = 0;
	if (s->state != SMTPD_S_QUEUE) {	/* lost before the commit */
		s->blocked = 0;
		if (t->fail == 0)
			t->fail = SMTPD_R_QW_DOWN;
		buf_free(&t->dbuf);
		smtpd_proto_resume(s);
		return;
	}
	id = verdict_reply(s, result, text, len, arg, sizeof(arg));
	s->state = SMTPD_S_CMD;
	s->rearm = 1;
	smtpd_txn_close(s);
	smtpd_proto_reply(s, id, arg);
	smtpd_proto_resume(s);
}

/* The sink drained: continue with buffered input. */
static void wake(struct smtpd_qtxn *q)
{
	struct smtpd_txn *t = container_of(q, struct smtpd_txn, q);

	t->s->blocked = 0;
	smtpd_proto_resume(t->s);
}
