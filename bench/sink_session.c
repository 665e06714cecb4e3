/* sink_session: mta-sink's SMTP state machine; see sink_session.h.  Input
 * is consumed straight from the caller's bytes when nothing is left over,
 * and only the tail of an incomplete command or chunk is copied.  Reply
 * texts live in the table below (smtpd's table for syntax errors). */
#include "bench/sink_session.h"
#include "smtpd/smtpd_cmd.h"
#include "smtpd/smtpd_reply.h"
#include "lib/log.h"

#include <stdio.h>
#include <string.h>

#define SINK_HDR_MAX (64 * 1024)	/* give up finding the header end */

enum sink_reply {
	SINK_R_OK, SINK_R_MAIL, SINK_R_RCPT, SINK_R_DEFER,
	SINK_R_REJECT, SINK_R_DATA, SINK_R_DATA_REJECT,
	SINK_R_BYE, SINK_R_NEED_MAIL, SINK_R_NESTED, SINK_R_NO_RCPT,
	SINK_R_MIXED, SINK_R_TOO_BIG, SINK_R_LINE, SINK_R_UNKNOWN,
	SINK_R_VRFY, SINK_R_SIZE,
};

static const char *const sink_replies[] = {
	[SINK_R_OK] = "250 2.0.0 Ok\r\n",
	[SINK_R_MAIL] = "250 2.1.0 Ok\r\n",
	[SINK_R_RCPT] = "250 2.1.5 Ok\r\n",
	[SINK_R_DEFER] = "451 4.3.0 Try again later (sink)\r\n",
	[SINK_R_REJECT] = "550 5.1.1 No such user (sink)\r\n",
	[SINK_R_DATA] = "354 End data with <CR><LF>.<CR><LF>\r\n",
	[SINK_R_DATA_REJECT] = "554 5.6.0 Message rejected (sink)\r\n",
	[SINK_R_BYE] = "221 2.0.0 Bye\r\n",
	[SINK_R_NEED_MAIL] = "503 5.5.1 Need MAIL command\r\n",
	[SINK_R_NESTED] = "503 5.5.1 Nested MAIL command\r\n",
	[SINK_R_NO_RCPT] = "554 5.5.1 No valid recipients\r\n",
	[SINK_R_MIXED] = "503 5.5.1 DATA after BDAT\r\n",
	[SINK_R_TOO_BIG] = "552 5.3.4 Message too big\r\n",
	[SINK_R_LINE] = "500 5.5.0 Line too long\r\n",
	[SINK_R_UNKNOWN] = "502 5.5.2 Command not implemented\r\n",
	[SINK_R_VRFY] = "252 2.0.0 Cannot VRFY\r\n",
	[SINK_R_SIZE] = "552 5.3.4 Message size exceeds limit\r\n",
};

static void reply(struct sink_session *s, enum sink_reply r)
{
	const char *t = sink_replies[r];

	s->ops->write(s->ctx, t, strlen(t));
}

static void reply_smtpd(struct sink_session *s, int id)
{
	char line[SMTPD_REPLY_MAX];
	size_t n = smtpd_reply_format(line, sizeof(line), id,
	    s->env->opts->hostname);

	s->ops->write(s->ctx, line, n);
}

void sink_session_init(struct sink_session *s, struct sink_env *env,
    const struct sink_session_ops *ops, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->env = env;
	s->ops = ops;
	s->ctx = ctx;
	buf_init(&s->in, 0);
	buf_init(&s->msg, 0);
}

void sink_session_free(struct sink_session *s)
{
	buf_free(&s->in);
	buf_free(&s->msg);
}

void sink_session_start(struct sink_session *s)
{
	char line[300];
	int n = snprintf(line, sizeof(line), "220 %s ESMTP mta-sink\r\n",
	    s->env->opts->hostname);

	s->ops->write(s->ctx, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
}

static void txn_reset(struct sink_session *s)
{
	s->has_mail = 0;
	s->nrcpt = 0;
	s->bdat_active = 0;
	s->hdr_done = 0;
	s->midlen = 0;
	s->mid[0] = '\0';
	buf_reset(&s->msg);
}

static void close_session(struct sink_session *s)
{
	s->state = SINK_S_CLOSED;
	s->ops->close(s->ctx);
}

/* New content arrived in msg: look for the Message-ID once the header
 * is complete; keep the body only when it is to be stored. */
static void after_feed(struct sink_session *s)
{
	if (!s->hdr_done && s->msg.len > 0) {
		size_t e = sink_msgid_header_end(s->msg.data, s->msg.len);

		if (e > 0) {
			s->midlen = sink_msgid_find(s->msg.data, e, s->mid,
			    sizeof(s->mid));
			s->hdr_done = 1;
		} else if (s->msg.len > SINK_HDR_MAX) {
			s->hdr_done = 1;	/* no end of header: no ID */
		}
	}
	if (s->hdr_done && s->env->opts->store_dir == NULL)
		buf_reset(&s->msg);
}

/* The reply to an accepted message; counts it. */
static size_t accept_msg(struct sink_session *s, char *line, size_t cap)
{
	struct sink_stats *st = s->env->stats;
	int n;

	if (!s->hdr_done)	/* header without body: all of it */
		s->midlen = sink_msgid_find(s->msg.data, s->msg.len, s->mid,
		    sizeof(s->mid));
	st->messages++;
	st->recipients += s->nrcpt;
	st->bytes += s->d.size;
	(void)sink_stats_msgid(st, s->mid, s->midlen);
	n = snprintf(line, cap, "250 2.0.0 Ok: queued as %llu\r\n",
	    (unsigned long long)st->messages);
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* The end of a DATA or BDAT LAST message: decide, count, reply. */
static void end_message(struct sink_session *s)
{
	char line[128];
	const char *t;
	size_t n;
	int ok = 0;

	if (!smtpd_data_ok(&s->d)) {
		t = sink_replies[SINK_R_TOO_BIG];
	} else {
		switch (sink_fault_data(s->env->fault)) {
		case SINK_DATA_DROP:
			s->env->stats->dropped++;
			s->state = SINK_S_CLOSED;
			s->ops->drop(s->ctx);
			return;
		case SINK_DATA_REJECT:
			s->env->stats->data_rejected++;
			t = sink_replies[SINK_R_DATA_REJECT];
			break;
		default:
			ok = 1;
			t = line;
			break;
		}
	}
	n = ok ? accept_msg(s, line, sizeof(line)) : strlen(t);
	s->state = SINK_S_CMD;
	if (s->env->async) {
		struct buf m = s->msg;	/* the callee takes it */

		buf_init(&s->msg, 0);
		txn_reset(s);
		if (!ok || s->env->opts->store_dir == NULL)
			buf_free(&m);
		if (s->ops->finish(s->ctx, t, n, ok &&
		    s->env->opts->store_dir != NULL ? &m : NULL) == 0)
			s->state = SINK_S_WAIT;
		return;
	}
	s->ops->write(s->ctx, t, n);
	txn_reset(s);
}

static void cmd_mail(struct sink_session *s, const struct smtpd_cmd *c)
{
	struct smtpd_mail m;
	uint64_t lim = s->env->opts->size_limit;
	int rc;

	if (s->has_mail) {
		reply(s, SINK_R_NESTED);
	} else if ((rc = smtpd_cmd_mail(c->arg, c->arglen, 1, &m)) != 0) {
		reply_smtpd(s, rc);
	} else if (lim != 0 && m.has_size && m.size > lim) {
		reply(s, SINK_R_SIZE);
	} else {
		s->has_mail = 1;
		reply(s, SINK_R_MAIL);
	}
}

static void cmd_rcpt(struct sink_session *s, const struct smtpd_cmd *c)
{
	struct smtpd_rcpt r;
	int rc;

	if (!s->has_mail) {
		reply(s, SINK_R_NEED_MAIL);
	} else if ((rc = smtpd_cmd_rcpt(c->arg, c->arglen, 1, &r)) != 0) {
		reply_smtpd(s, rc);
	} else {
		switch (sink_fault_rcpt(s->env->fault)) {
		case SINK_RCPT_DEFER:
			s->env->stats->rcpt_deferred++;
			reply(s, SINK_R_DEFER);
			break;
		case SINK_RCPT_REJECT:
			s->env->stats->rcpt_rejected++;
			reply(s, SINK_R_REJECT);
			break;
		default:
			s->nrcpt++;
			reply(s, SINK_R_RCPT);
			break;
		}
	}
}

static void cmd_data(struct sink_session *s)
{
	if (s->bdat_active) {
		reply(s, SINK_R_MIXED);
	} else if (!s->has_mail) {
		reply(s, SINK_R_NEED_MAIL);
	} else if (s->nrcpt == 0) {
		reply(s, SINK_R_NO_RCPT);
	} else {
		smtpd_data_init(&s->d, 0, s->env->opts->size_limit);
		s->state = SINK_S_DATA;
		reply(s, SINK_R_DATA);
	}
}

static void cmd_bdat(struct sink_session *s, const struct smtpd_cmd *c)
{
	uint64_t count;
	int last, rc;

	if ((rc = smtpd_cmd_bdat(c->arg, c->arglen, &count, &last)) != 0) {
		reply_smtpd(s, rc);
		return;
	}
	smtpd_bdat_start(&s->b, count, last);
	s->state = SINK_S_BDAT;
	s->bdat_skip = -1;
	if (!s->has_mail)
		s->bdat_skip = SINK_R_NEED_MAIL;
	else if (s->nrcpt == 0)
		s->bdat_skip = SINK_R_NO_RCPT;
	else if (!s->bdat_active) {
		smtpd_data_init(&s->d, SMTPD_DATA_RAW,
		    s->env->opts->size_limit);
		s->bdat_active = 1;
	}
}

/* A BDAT chunk has been taken in full. */
static void chunk_end(struct sink_session *s)
{
	char line[80];
	int n;

	s->state = SINK_S_CMD;
	if (s->bdat_skip >= 0) {
		reply(s, (enum sink_reply)s->bdat_skip);
		if (s->b.last)
			txn_reset(s);
		return;
	}
	if (s->b.last) {
		smtpd_data_finish(&s->d, &s->msg);
		after_feed(s);
		end_message(s);
		return;
	}
	n = snprintf(line, sizeof(line), "250 2.0.0 %llu octets received\r\n",
	    (unsigned long long)s->b.chunk);
	s->ops->write(s->ctx, line, (size_t)n);
}

static void cmd_helo(struct sink_session *s, int esmtp)
{
	char line[300];
	int n;

	txn_reset(s);
	s->esmtp = esmtp;
	if (esmtp) {
		struct buf out;

		buf_init(&out, 0);
		smtpd_reply_ehlo(&out, s->env->opts->hostname,
		    s->env->opts->size_limit, 0);
		s->ops->write(s->ctx, out.data, out.len);
		buf_free(&out);
		return;
	}
	n = snprintf(line, sizeof(line), "250 %s\r\n",
	    s->env->opts->hostname);
	s->ops->write(s->ctx, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
}

static void command(struct sink_session *s, const char *line, size_t len)
{
	struct smtpd_cmd c;

	if (smtpd_cmd_parse(line, len, &c) != 0) {
		reply_smtpd(s, SMTPD_R_NUL);
		return;
	}
	switch (c.verb) {
	case SMTPD_V_HELO: cmd_helo(s, 0); break;
	case SMTPD_V_EHLO: cmd_helo(s, 1); break;
	case SMTPD_V_MAIL: cmd_mail(s, &c); break;
	case SMTPD_V_RCPT: cmd_rcpt(s, &c); break;
	case SMTPD_V_DATA: cmd_data(s); break;
	case SMTPD_V_BDAT: cmd_bdat(s, &c); break;
	case SMTPD_V_RSET: txn_reset(s); reply(s, SINK_R_OK); break;
	case SMTPD_V_NOOP: reply(s, SINK_R_OK); break;
	case SMTPD_V_VRFY: reply(s, SINK_R_VRFY); break;
	case SMTPD_V_QUIT: reply(s, SINK_R_BYE); close_session(s); break;
	default: reply(s, SINK_R_UNKNOWN); break;
	}
}

/* One step on p[0..n): the bytes used, 0 when more input is needed. */
static size_t step(struct sink_session *s, const char *p, size_t n)
{
	const char *nl;
	size_t used, len;

	switch (s->state) {
	case SINK_S_CMD:
		if ((nl = memchr(p, '\n', n)) == NULL) {
			if (n >= SINK_LINE_MAX) {
				reply(s, SINK_R_LINE);
				close_session(s);
			}
			return 0;
		}
		used = (size_t)(nl - p) + 1;
		len = used - 1;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		command(s, p, len);
		return used;
	case SINK_S_DATA:
		used = smtpd_data_feed(&s->d, p, n, &s->msg);
		after_feed(s);
		if (s->d.done)
			end_message(s);
		return used;
	case SINK_S_BDAT:
		used = smtpd_bdat_feed(&s->b, s->bdat_skip >= 0 ? NULL : &s->d,
		    p, n, &s->msg);
		if (s->bdat_skip < 0)
			after_feed(s);
		if (smtpd_bdat_done(&s->b))
			chunk_end(s);
		return used;
	default:
		return 0;
	}
}

/* Consume what can be: returns the bytes used from p[0..n). */
static size_t process(struct sink_session *s, const char *p, size_t n)
{
	size_t off = 0, k;

	while (s->state != SINK_S_WAIT && s->state != SINK_S_CLOSED) {
		enum sink_state was = s->state;
		int ready = s->state == SINK_S_BDAT && smtpd_bdat_done(&s->b);

		if (off == n && !ready)
			break;
		k = step(s, p + off, n - off);
		off += k;
		if (k == 0 && s->state == was && !ready)
			break;	/* an incomplete command line */
	}
	return off;
}

void sink_session_input(struct sink_session *s, const char *p, size_t n)
{
	size_t used;

	if (s->state == SINK_S_CLOSED)
		return;
	if (s->in.len == 0 && s->state != SINK_S_WAIT) {
		used = process(s, p, n);
		if (used < n && s->state != SINK_S_CLOSED &&
		    buf_append(&s->in, p + used, n - used) < 0)
			panic("sink input buffer");
		return;
	}
	if (buf_append(&s->in, p, n) < 0)
		panic("sink input buffer");
	if (s->state == SINK_S_WAIT)
		return;
	used = process(s, s->in.data, s->in.len);
	buf_consume(&s->in, used);
}

void sink_session_resume(struct sink_session *s)
{
	size_t used;

	if (s->state != SINK_S_WAIT)
		return;
	s->state = SINK_S_CMD;
	if (s->in.len > 0) {
		used = process(s, s->in.data, s->in.len);
		buf_consume(&s->in, used);
	}
	if (s->eof && s->state != SINK_S_WAIT && s->state != SINK_S_CLOSED)
		close_session(s);
}

void sink_session_eof(struct sink_session *s)
{
	s->eof = 1;
	if (s->state != SINK_S_WAIT && s->state != SINK_S_CLOSED)
		close_session(s);
}
