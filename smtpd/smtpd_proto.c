/* smtpd_proto: the session state machine; see smtpd_proto.h.  One loop
 * takes the input in order: command lines in S_CMD (every complete line,
 * so pipelined groups get their replies in one batch), content in S_DATA
 * and S_BDAT (smtpd_txn), nothing while a verdict is awaited.  Whatever is
 * not consumed stays in s->in, which is freed whenever it empties so an
 * idle session holds no buffer. */
#include "smtpd/smtpd_proto.h"
#include "smtpd/smtpd_auth.h"
#include "smtpd/smtpd_local.h"
#include "smtpd/smtpd_policy.h"
#include "smtpd/smtpd_reply.h"
#include "smtpd/smtpd_txn.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <string.h>
#include <time.h>

#define SMTPD_IN_HIGH (256 * 1024)	/* pause reading above this backlog */

uint64_t smtpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void smtpd_proto_init(struct smtpd_session *s, const struct conf *c)
{
	memset(s, 0, sizeof(*s));
	s->conf = c;
	s->state = SMTPD_S_CMD;
	buf_init(&s->in, 0);
}

/* Log refusals of the envelope and content commands, Postfix style. */
static void log_reject(struct smtpd_session *s, const char *line, size_t n)
{
	switch (s->verb) {
	case SMTPD_V_MAIL:
	case SMTPD_V_RCPT:
	case SMTPD_V_DATA:
	case SMTPD_V_BDAT:
		log_info("reject: %s from [%s]: %.*s", smtpd_cmd_name(s->verb),
		    s->client_ip, (int)(n - 2), line);
		break;
	default:
		break;
	}
}

void smtpd_proto_reply(struct smtpd_session *s, int id, const char *arg)
{
	char line[SMTPD_REPLY_MAX];
	size_t n;
	unsigned code;

	if (s->state == SMTPD_S_CLOSED)
		return;
	n = smtpd_reply_format(line, sizeof(line), id, arg);
	s->io->write(s->io_ctx, line, n);
	code = smtpd_reply_code(id);
	if (code >= 400 && code != 421)
		log_reject(s, line, n);
	if (smtpd_reply_is_error(id) &&
	    ++s->errors >= s->conf->smtpd_error_limit) {
		n = smtpd_reply_format(line, sizeof(line),
		    SMTPD_R_TOO_MANY_ERRORS, NULL);
		s->io->write(s->io_ctx, line, n);
		log_info("too many errors from [%s]", s->client_ip);
		smtpd_proto_close(s);
	}
}

void smtpd_proto_close(struct smtpd_session *s)
{
	if (s->state == SMTPD_S_CLOSED)
		return;
	smtpd_txn_close(s);
	smtpd_auth_abort(s);
	s->state = SMTPD_S_CLOSED;
	s->deadline = 0;
	s->io->close(s->io_ctx);
}

void smtpd_proto_start(struct smtpd_session *s)
{
	log_info("connect from [%s]:%u", s->client_ip, s->client_port);
	smtpd_proto_reply(s, SMTPD_R_GREETING, s->conf->hostname);
	s->deadline = smtpd_now_ms() +
	    (uint64_t)s->conf->smtpd_timeout_idle * 1000;
}

void smtpd_proto_refuse(struct smtpd_session *s, int id)
{
	s->refused = 1;
	smtpd_proto_reply(s, id, s->conf->hostname);
	smtpd_proto_close(s);
}

static void cmd_helo(struct smtpd_session *s, const struct smtpd_cmd *c,
    int esmtp)
{
	struct buf b;
	int rc;

	if ((rc = smtpd_cmd_helo(c->arg, c->arglen, esmtp)) != 0) {
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	smtpd_txn_close(s);	/* EHLO resets the transaction (4.1.4) */
	free(s->helo);
	s->helo = xstrndup(c->arg, c->arglen);
	s->esmtp = esmtp;
	if (!esmtp) {
		smtpd_proto_reply(s, SMTPD_R_HELO, s->conf->hostname);
		return;
	}
	buf_init(&b, 0);
	smtpd_reply_ehlo(&b, s->conf->hostname, s->conf->message_size_limit,
	    (s->io->starttls != NULL && !s->tls ? SMTPD_EHLO_STARTTLS : 0) |
	    (smtpd_auth_offered(s) ? SMTPD_EHLO_AUTH : 0));
	s->io->write(s->io_ctx, b.data, b.len);
	buf_free(&b);
}

/* STARTTLS (RFC 3207): 220 in the clear, then TLS below the session.
 * Whatever the client sent after the command came before the handshake,
 * in the clear, so it is thrown away unread (the CVE-2011-0411 class:
 * smtpd_proto_input), and the session starts over from EHLO (4.2). */
static void cmd_starttls(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	if (c->arglen > 0) {
		smtpd_proto_reply(s, SMTPD_R_SYNTAX_STARTTLS, NULL);
		return;
	}
	if (s->tls) {
		smtpd_proto_reply(s, SMTPD_R_TLS_ACTIVE, NULL);
		return;
	}
	if (s->io->starttls == NULL) {
		smtpd_proto_reply(s, SMTPD_R_TLS_UNAVAILABLE, NULL);
		return;
	}
	smtpd_proto_reply(s, SMTPD_R_TLS_READY, NULL);
	if (s->io->starttls(s->io_ctx) < 0) {
		log_warn("STARTTLS from [%s]: no TLS session", s->client_ip);
		smtpd_proto_close(s);
		return;
	}
	s->tls = 1;
	s->tls_restart = 1;
	smtpd_txn_close(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	smtpd_auth_reset(s);	/* RFC 3207 4.2: forget what came before */
}

static void cmd_mail(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	struct smtpd_mail m;
	int rc;

	if (s->helo == NULL) {
		smtpd_proto_reply(s, SMTPD_R_NEED_HELO, NULL);
		return;
	}
	if (s->txn != NULL) {
		smtpd_proto_reply(s, SMTPD_R_NESTED_MAIL, NULL);
		return;
	}
	if ((rc = smtpd_cmd_mail(c->arg, c->arglen, s->esmtp, &m)) != 0) {
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	if ((rc = smtpd_auth_mail(s, &m.addr)) != 0) {
		smtpd_proto_reply(s, rc, s->auth_user);
		return;
	}
	if (m.has_size && m.size > s->conf->message_size_limit) {
		smtpd_proto_reply(s, SMTPD_R_TOO_BIG, NULL);
		return;
	}
	if (!s->sink->ready(s->sink_ctx)) {
		smtpd_proto_reply(s, SMTPD_R_QW_DOWN, NULL);
		return;
	}
	smtpd_txn_open(s, &m);
	smtpd_proto_reply(s, SMTPD_R_MAIL_OK, NULL);
}

/* A recipient in local_domains must exist (smtpd_local); 0 or a reply. */
static int rcpt_local(struct smtpd_session *s, const struct smtpd_rcpt *r,
    const char *text)
{
	char dom[ADDR_DOMAIN_MAX + 1];

	if (s->local == NULL)
		return 0;
	addr_domain_lower(&r->addr, dom, sizeof(dom));
	if (!conf_is_local_domain(s->conf, dom))
		return 0;
	return smtpd_local_check(s->local, text, s->client_ip);
}

static void cmd_rcpt(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	struct smtpd_txn *t = s->txn;
	struct smtpd_rcpt r;
	char text[ADDR_PATH_MAX + 8];
	int rc;

	if (t == NULL) {
		smtpd_proto_reply(s, SMTPD_R_NEED_MAIL, NULL);
		return;
	}
	if (t->mode != SMTPD_M_NONE) {
		smtpd_proto_reply(s, SMTPD_R_BDAT_IN_PROGRESS, NULL);
		return;
	}
	t->rcpt_tried++;
	if ((rc = smtpd_cmd_rcpt(c->arg, c->arglen, t->smtputf8, &r)) != 0) {
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	if (r.addr.domain[0] == '\0')	/* <Postmaster>: ours (4.1.1.3) */
		snprintf(r.addr.domain, sizeof(r.addr.domain), "%s",
		    s->conf->n_local_domains ? s->conf->local_domains[0] :
		    s->conf->hostname);
	if (t->nrcpt >= s->conf->max_recipients) {
		smtpd_proto_reply(s, SMTPD_R_TOO_MANY_RCPT, NULL);
		return;
	}
	addr_format(&r.addr, text, sizeof(text));
	if ((rc = smtpd_policy_rcpt(s->conf, s->trusted ||
	    s->auth_user != NULL, &r)) != 0 ||
	    (rc = rcpt_local(s, &r, text)) != 0) {
		smtpd_proto_reply(s, rc, text);
		return;
	}
	if ((rc = smtpd_txn_add_rcpt(s, &r.addr)) != 0) {
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	smtpd_proto_reply(s, SMTPD_R_RCPT_OK, NULL);
}

static void cmd_bdat(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	uint64_t count;
	int last, rc;

	if ((rc = smtpd_cmd_bdat(c->arg, c->arglen, &count, &last)) != 0) {
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	smtpd_txn_bdat_cmd(s, count, last);
}

/* Commands that take no argument: reply syntax if one is given. */
static int no_arg(struct smtpd_session *s, const struct smtpd_cmd *c,
    int syntax)
{
	if (c->arglen == 0)
		return 0;
	smtpd_proto_reply(s, syntax, NULL);
	return -1;
}

static void command(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	switch (c->verb) {
	case SMTPD_V_HELO:
	case SMTPD_V_EHLO:
		cmd_helo(s, c, c->verb == SMTPD_V_EHLO);
		break;
	case SMTPD_V_MAIL:
		cmd_mail(s, c);
		break;
	case SMTPD_V_RCPT:
		cmd_rcpt(s, c);
		break;
	case SMTPD_V_DATA:
		if (no_arg(s, c, SMTPD_R_SYNTAX_DATA) == 0)
			smtpd_txn_data_cmd(s);
		break;
	case SMTPD_V_BDAT:
		cmd_bdat(s, c);
		break;
	case SMTPD_V_RSET:
		if (no_arg(s, c, SMTPD_R_SYNTAX_RSET) == 0) {
			smtpd_txn_close(s);
			smtpd_proto_reply(s, SMTPD_R_OK, NULL);
		}
		break;
	case SMTPD_V_NOOP:
		smtpd_proto_reply(s, SMTPD_R_OK, NULL);
		break;
	case SMTPD_V_QUIT:
		smtpd_proto_reply(s, SMTPD_R_BYE, NULL);
		smtpd_proto_close(s);
		break;
	case SMTPD_V_VRFY:
		smtpd_proto_reply(s, c->arglen ? SMTPD_R_VRFY :
		    SMTPD_R_SYNTAX_VRFY, NULL);
		break;
	case SMTPD_V_HELP:
		smtpd_proto_reply(s, SMTPD_R_HELP, NULL);
		break;
	case SMTPD_V_STARTTLS:
		cmd_starttls(s, c);
		break;
	case SMTPD_V_AUTH:
		smtpd_auth_cmd(s, c);
		break;
	case SMTPD_V_EXPN:
	case SMTPD_V_ETRN:
	case SMTPD_V_TURN:
		smtpd_proto_reply(s, SMTPD_R_NOT_IMPLEMENTED, NULL);
		break;
	default:
		smtpd_proto_reply(s, SMTPD_R_UNKNOWN, NULL);
		break;
	}
}

/* One command line (without its line end). */
static void command_line(struct smtpd_session *s, const char *line,
    size_t len)
{
	struct smtpd_cmd c;
	int rc;

	s->commands++;
	s->rearm = 1;
	if (s->auth != NULL) {		/* a SASL response, not a command */
		smtpd_auth_response(s, line, len);
		return;
	}
	rc = smtpd_cmd_parse(line, len, &c);
	s->verb = c.verb;
	if (rc != 0)
		smtpd_proto_reply(s, rc, NULL);
	else
		command(s, &c);
}

/* S_CMD: take one line (or discard part of an overlong one).  Returns the
 * bytes used; 0 means a complete line is not there yet. */
static size_t cmd_step(struct smtpd_session *s, const char *p, size_t n)
{
	size_t limit = smtpd_auth_line_limit(s, p, n), len;
	const char *lf = memchr(p, '\n', n);

	if (s->discarding) {
		if (lf == NULL)
			return n;
		s->discarding = 0;
		return (size_t)(lf - p) + 1;
	}
	if (lf == NULL) {
		if (n < limit)
			return 0;
		s->verb = SMTPD_V_UNKNOWN;
		s->discarding = 1;	/* stay in sync: drop up to the LF */
		smtpd_proto_reply(s, smtpd_auth_too_long(s, p, n), NULL);
		return n;
	}
	len = (size_t)(lf - p);
	if (len + 1 > limit) {
		s->verb = SMTPD_V_UNKNOWN;
		smtpd_proto_reply(s, smtpd_auth_too_long(s, p, n), NULL);
		return len + 1;
	}
	command_line(s, p, len > 0 && p[len - 1] == '\r' ? len - 1 : len);
	return len + 1;
}

/* Close an idle session when the server is stopping. */
static int drain_check(struct smtpd_session *s)
{
	if (!s->draining || s->txn != NULL || s->state != SMTPD_S_CMD)
		return 0;
	smtpd_proto_reply(s, SMTPD_R_SHUTDOWN, NULL);
	smtpd_proto_close(s);
	return 1;
}

/* Consume as much of p[0..n) as the state allows; returns bytes used. */
static size_t run(struct smtpd_session *s, const char *p, size_t n)
{
	size_t used = 0, k = 0;

	while (used < n && !s->blocked && !s->tls_restart && !drain_check(s)) {
		switch (s->state) {
		case SMTPD_S_CMD:
			k = cmd_step(s, p + used, n - used);
			break;
		case SMTPD_S_DATA:
			k = smtpd_txn_data(s, p + used, n - used);
			break;
		case SMTPD_S_BDAT:
			k = smtpd_txn_bdat(s, p + used, n - used);
			break;
		default:
			return used;
		}
		if (k == 0)
			break;
		used += k;
	}
	return used;
}

/* The client has gone: abort what is unfinished and close. */
static void eof_close(struct smtpd_session *s)
{
	if (s->txn != NULL && s->txn->mode != SMTPD_M_NONE)
		log_info("lost connection from [%s] during %s", s->client_ip,
		    s->state == SMTPD_S_QUEUE ? "queueing" : "message content");
	smtpd_proto_close(s);
}

/* After input: deadlines, flow control, and freeing an empty buffer. */
static void after(struct smtpd_session *s)
{
	const struct conf *c = s->conf;
	int want;

	drain_check(s);
	if (s->eof && s->state != SMTPD_S_CLOSED &&
	    s->state != SMTPD_S_QUEUE && !s->blocked)
		eof_close(s);	/* all that came before EOF is answered */
	if (s->state == SMTPD_S_CLOSED) {
		buf_free(&s->in);
		return;
	}
	if (s->rearm) {
		unsigned secs = s->state == SMTPD_S_CMD ?
		    c->smtpd_timeout_command : c->smtpd_timeout_data;

		s->deadline = smtpd_now_ms() + (uint64_t)secs * 1000;
		s->rearm = 0;
	}
	if (s->in.len == 0)
		buf_free(&s->in);
	want = s->blocked || s->in.len > SMTPD_IN_HIGH;
	if (want != s->paused) {
		s->paused = want;
		s->io->pause(s->io_ctx, want);
	}
}

/* After STARTTLS: drop the input that followed it (plus `more` bytes not
 * yet buffered), and say so: a client that does this is broken or an
 * attacker injecting commands before the handshake. */
static void tls_restart(struct smtpd_session *s, size_t more)
{
	size_t dropped = s->in.len + more;

	s->tls_restart = 0;
	buf_free(&s->in);
	if (dropped > 0)
		log_warn("discarded %zu bytes pipelined after STARTTLS from "
		    "[%s]", dropped, s->client_ip);
}

void smtpd_proto_input(struct smtpd_session *s, const char *p, size_t n)
{
	size_t used;

	if (s->state == SMTPD_S_CLOSED || n == 0)
		return;
	if (s->state == SMTPD_S_DATA || s->state == SMTPD_S_BDAT)
		s->rearm = 1;	/* the data timeout is per block received */
	if (s->in.len == 0) {
		used = run(s, p, n);	/* straight from the receive buffer */
		if (s->tls_restart)
			tls_restart(s, n - used);
		else if (used < n && s->state != SMTPD_S_CLOSED &&
		    buf_append(&s->in, p + used, n - used) < 0)
			panic("input buffer limit");
	} else {
		if (buf_append(&s->in, p, n) < 0)
			panic("input buffer limit");
		used = run(s, s->in.data, s->in.len);
		buf_consume(&s->in, used);
		if (s->tls_restart)
			tls_restart(s, 0);
	}
	after(s);
}

void smtpd_proto_resume(struct smtpd_session *s)
{
	if (s->state != SMTPD_S_CLOSED && s->in.len > 0)
		buf_consume(&s->in, run(s, s->in.data, s->in.len));
	if (s->tls_restart)
		tls_restart(s, 0);
	after(s);
}

void smtpd_proto_eof(struct smtpd_session *s, int hard)
{
	if (s->state == SMTPD_S_CLOSED)
		return;
	s->eof = 1;
	if (hard)
		eof_close(s);
	after(s);	/* closes now unless a verdict is awaited */
}

void smtpd_proto_timeout(struct smtpd_session *s)
{
	if (s->state == SMTPD_S_CLOSED)
		return;
	log_info("timeout after %s from [%s]", s->commands == 0 ? "CONNECT" :
	    s->state == SMTPD_S_DATA || s->state == SMTPD_S_BDAT ? "DATA" :
	    smtpd_cmd_name(s->verb), s->client_ip);
	smtpd_proto_reply(s, SMTPD_R_TIMEOUT, s->conf->hostname);
	smtpd_proto_close(s);
	buf_free(&s->in);
}

void smtpd_proto_shutdown(struct smtpd_session *s, int force)
{
	if (s->state == SMTPD_S_CLOSED)
		return;
	s->draining = 1;
	if (force || s->txn == NULL) {
		if (s->state == SMTPD_S_DATA || s->state == SMTPD_S_BDAT ||
		    s->state == SMTPD_S_QUEUE)
			s->state = SMTPD_S_CMD;	/* the 421 is the only reply */
		smtpd_proto_reply(s, SMTPD_R_SHUTDOWN, NULL);
		smtpd_proto_close(s);
		buf_free(&s->in);
	}
}

void smtpd_proto_free(struct smtpd_session *s)
{
	if (!s->refused)
		log_info("disconnect from [%s] commands=%u", s->client_ip,
		    s->commands);
	smtpd_txn_close(s);
	smtpd_auth_reset(s);
	free(s->helo);
	s->helo = NULL;
	buf_free(&s->in);
}
