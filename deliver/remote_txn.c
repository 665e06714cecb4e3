/* remote_txn: one mail transaction on a ready session -- [RSET] MAIL,
 * RCPT per recipient, DATA, the dot-stuffed content and the final dot.
 * With PIPELINING (RFC 2920) every command up to DATA leaves in one write
 * and the replies are matched in order; without it, one at a time.
 * Result mapping: RCPT 2xx + final 2xx -> sent; RCPT 4xx deferred, 5xx
 * bounced; a MAIL or DATA failure applies to every recipient still open.
 * A 421 anywhere ends the connection after applying it. */
#include "deliver/remote_dot.h"
#include "deliver/remote_session.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define REMOTE_DATA_PIECE (32 * 1024)

enum step_kind { ST_RSET, ST_MAIL, ST_RCPT, ST_DATA };

static enum step_kind step_kind(const struct remote_session *s, size_t k,
    size_t *ri)
{
	size_t base = s->rset ? 1 : 0;

	if (k < base)
		return ST_RSET;
	if (k == base)
		return ST_MAIL;
	if (k - base - 1 < s->ntxn) {
		*ri = s->txn[k - base - 1];
		return ST_RCPT;
	}
	return ST_DATA;
}

const char *remote_txn_doing(const struct remote_session *s)
{
	size_t ri;

	if (s->state == RS_DATA)
		return "sending message body";
	if (s->state == RS_DOT)
		return "sending end of data -- message may be sent more "
		    "than once";
	switch (step_kind(s, s->step_reply, &ri)) {
	case ST_RSET:
		return "sending RSET";
	case ST_MAIL:
		return "sending MAIL FROM";
	case ST_RCPT:
		return "sending RCPT TO";
	case ST_DATA:
		break;
	}
	return "sending DATA";
}

void remote_txn_free(struct remote_session *s)
{
	free(s->txn);
	s->txn = NULL;
	s->ntxn = 0;
}

static void send_step(struct remote_session *s, size_t k)
{
	const struct remote_job *j = s->job;
	const struct queue_msg *m = &j->a.msg;
	size_t ri = 0;
	char size[32] = "";

	switch (step_kind(s, k, &ri)) {
	case ST_RSET:
		remote_session_write(s, "RSET\r\n");
		break;
	case ST_MAIL:
		if (s->ehlo.ext & REMOTE_EXT_SIZE)
			snprintf(size, sizeof(size), " SIZE=%zu",
			    m->content_len);
		remote_session_write(s, "MAIL FROM:<%s>%s%s%s\r\n", m->sender,
		    size, strcmp(m->body, "7BIT") != 0 &&
		    (s->ehlo.ext & REMOTE_EXT_8BITMIME) ? " BODY=8BITMIME" : "",
		    m->smtputf8 && (s->ehlo.ext & REMOTE_EXT_SMTPUTF8) ?
		    " SMTPUTF8" : "");
		break;
	case ST_RCPT:
		remote_session_write(s, "RCPT TO:<%s>\r\n",
		    j->a.rcpts[ri].addr);
		break;
	case ST_DATA:
		remote_session_write(s, "DATA\r\n");
		break;
	}
}

/* The deadline of the reply expected next. */
static void next_deadline(struct remote_session *s)
{
	size_t ri;

	remote_session_set_deadline(s,
	    step_kind(s, s->step_reply, &ri) == ST_DATA ? s->rm->t.data_init :
	    s->rm->t.command);
}

static void apply(struct remote_session *s, size_t i,
    const struct remote_reply *r)
{
	char dsn[REMOTE_DSN_MAX];

	remote_dsn_of(r, dsn);
	agent_job_set(&s->job->a, i, remote_class_of(r->code), dsn, s->relay,
	    r->text);
}

/* r for every recipient of the transaction without a result (accepted
 * ones only when accepted_only). */
static void apply_all(struct remote_session *s, const struct remote_reply *r,
    int accepted_only)
{
	for (size_t k = 0; k < s->ntxn; k++) {
		size_t i = s->txn[k];

		if (!accepted_only || s->job->a.rcpts[i].accepted)
			apply(s, i, r);
	}
}

static int addr_ok(const char *a)
{
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Refusals decided here, before a command is sent.  1 if the job is done. */
static int local_checks(struct remote_session *s)
{
	struct remote_job *j = s->job;
	char text[REMOTE_TEXT_MAX + 1];

	if ((s->ehlo.ext & REMOTE_EXT_SIZE) && s->ehlo.size > 0 &&
	    j->a.msg.content_len > s->ehlo.size) {
		snprintf(text, sizeof(text), "message size %zu exceeds size "
		    "limit %llu of server %s", j->a.msg.content_len,
		    (unsigned long long)s->ehlo.size, s->relay);
		agent_job_set_rest(&j->a, AGENT_BOUNCED, REMOTE_DSN_TOOBIG,
		    s->relay, text);
		return 1;
	}
	if (!(s->ehlo.ext & REMOTE_EXT_SMTPUTF8) && remote_job_needs_utf8(j)) {
		snprintf(text, sizeof(text), "SMTPUTF8 is required, but was "
		    "not offered by host %s", s->relay);
		agent_job_set_rest(&j->a, AGENT_BOUNCED, REMOTE_DSN_UTF8,
		    s->relay, text);
		return 1;
	}
	if (!addr_ok(j->a.msg.sender)) {
		agent_job_set_rest(&j->a, AGENT_BOUNCED, "5.1.7", "none",
		    "invalid sender address syntax");
		return 1;
	}
	if (strcmp(j->a.msg.body, "7BIT") != 0 &&
	    !(s->ehlo.ext & REMOTE_EXT_8BITMIME))
		log_info("%s: host %s does not offer 8BITMIME; sending the "
		    "%s body as it is", j->a.qid, s->relay, j->a.msg.body);
	return 0;
}

void remote_txn_start(struct remote_session *s)
{
	struct remote_job *j = s->job;

	if (local_checks(s)) {
		remote_session_txn_end(s);
		return;
	}
	remote_txn_free(s);
	s->txn = xreallocarray(NULL, j->a.nrcpt, sizeof(*s->txn));
	for (size_t i = 0; i < j->a.nrcpt; i++) {
		j->a.rcpts[i].accepted = 0;
		if (j->a.rcpts[i].done)
			continue;
		if (!addr_ok(j->a.rcpts[i].addr)) {
			agent_job_set(&j->a, i, AGENT_BOUNCED, "5.1.3", "none",
			    "invalid recipient address syntax");
			continue;
		}
		s->txn[s->ntxn++] = i;
	}
	if (s->ntxn == 0) {
		remote_session_txn_end(s);
		return;
	}
	s->rset = s->msgs > 0 || s->reused;
	s->pipelining = (s->ehlo.ext & REMOTE_EXT_PIPELINING) != 0;
	s->nsteps = (s->rset ? 1u : 0u) + 1 + s->ntxn + 1;
	s->step_sent = s->step_reply = 0;
	s->accepted = 0;
	s->mail_ok = s->mail_failed = s->discard = 0;
	s->msgs++;
	s->state = RS_TXN;
	do
		send_step(s, s->step_sent++);
	while (s->pipelining && s->step_sent < s->nsteps);
	next_deadline(s);
}

static void fill(struct remote_session *s)
{
	const struct queue_msg *m = &s->job->a.msg;
	struct buf *b = &s->rm->scratch;

	while (remote_conn_pending(&s->conn) < REMOTE_CONN_HIGH &&
	    !s->conn.eof && !s->conn.shut) {
		int rc;

		buf_reset(b);
		rc = remote_dot_stuff(m->content, m->content_len, &s->data_off,
		    b, REMOTE_DATA_PIECE);
		remote_conn_write(&s->conn, b->data, b->len);
		if (rc != 0) {
			s->state = RS_DOT;
			remote_session_set_deadline(s, s->rm->t.data_block);
			return;
		}
	}
	remote_session_set_deadline(s, s->rm->t.data_block);
}

void remote_txn_writable(struct remote_session *s)
{
	if (s->state == RS_DATA) {
		fill(s);
		return;
	}
	/* The final-reply clock starts once the terminator has left. */
	remote_session_set_deadline(s, remote_conn_pending(&s->conn) > 0 ?
	    s->rm->t.data_block : s->rm->t.dot);
}

/* The reply to the final dot (or an early one while sending data). */
static void final_reply(struct remote_session *s, const struct remote_reply *r)
{
	int early = s->state == RS_DATA;

	if (!s->discard)
		apply_all(s, r, 1);
	if (r->code == 421)
		s->doomed = 1;
	if (early) {
		/* The server spoke in the middle of our data: the stream is
		 * out of step, so the connection cannot be reused. */
		remote_session_job_done(s);
		remote_session_close(s, RA_FREE);
		return;
	}
	remote_session_txn_end(s);
}

static void reply_rcpt(struct remote_session *s, size_t ri,
    const struct remote_reply *r)
{
	if (!s->mail_ok)
		return;		/* MAIL failed: its reply is the result */
	if (r->code / 100 == 2) {
		s->job->a.rcpts[ri].accepted = 1;
		s->accepted++;
	} else {
		apply(s, ri, r);
	}
}

/* Sequential mode: the next command, or the end.  1 if the txn ended. */
static int send_next(struct remote_session *s)
{
	size_t ri;

	if (s->pipelining || s->step_sent >= s->nsteps)
		return 0;
	if (s->mail_failed || (step_kind(s, s->step_sent, &ri) == ST_DATA &&
	    s->accepted == 0)) {
		remote_session_txn_end(s);
		return 1;
	}
	send_step(s, s->step_sent++);
	return 0;
}

static void reply_data(struct remote_session *s, const struct remote_reply *r)
{
	if (r->code == 354) {
		if (s->mail_ok && s->accepted > 0) {
			s->state = RS_DATA;
			s->data_off = 0;
			fill(s);
			return;
		}
		/* Nothing to send (all refused): end the data at once. */
		remote_session_write(s, ".\r\n");
		s->discard = 1;
		s->state = RS_DOT;
		remote_session_set_deadline(s, s->rm->t.dot);
		return;
	}
	if (r->code < 400) {
		/* 2xx to DATA would read as "sent" without any data sent. */
		remote_session_lost(s, REMOTE_DSN_PROTO, "protocol error from "
		    "%s: unexpected reply to DATA: %s", s->relay, r->text);
		return;
	}
	if (s->mail_ok)
		apply_all(s, r, 1);
	if (r->code == 421)
		s->doomed = 1;
	remote_session_txn_end(s);
}

void remote_txn_reply(struct remote_session *s, const struct remote_reply *r)
{
	size_t ri = 0;
	int ok = r->code / 100 == 2;

	if (s->state == RS_DOT || s->state == RS_DATA) {
		final_reply(s, r);
		return;
	}
	switch (step_kind(s, s->step_reply++, &ri)) {
	case ST_RSET:
		if (!ok) {
			remote_session_lost(s, r->code / 100 == 4 ? "4.0.0" :
			    REMOTE_DSN_PROTO, "%s", r->text);
			return;
		}
		break;
	case ST_MAIL:
		if (!ok && r->code == 421 && s->reused) {
			remote_session_lost(s, "4.0.0", "%s", r->text);
			return;
		}
		s->mail_ok = ok;
		s->mail_failed = !ok;
		if (!ok)
			apply_all(s, r, 0);
		break;
	case ST_RCPT:
		reply_rcpt(s, ri, r);
		break;
	case ST_DATA:
		reply_data(s, r);
		return;
	}
	if (r->code == 421) {
		/* The server is closing: what is still open gets this. */
		apply_all(s, r, 0);
		s->doomed = 1;
		remote_session_txn_end(s);
		return;
	}
	if (send_next(s))
		return;
	next_deadline(s);
}
