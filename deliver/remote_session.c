/* remote_session: an outbound SMTP connection's life; see
 * remote_session.h.  Set-up failures (connect, timeout, a 4xx/5xx
 * greeting, EHLO/HELO refused) move on to the next target; when none is
 * left the job is deferred 4.4.1 with the last error.  Under policy "may"
 * a TLS handshake that fails is retried on a new connection to the same
 * target without STARTTLS; under "must" and "verify" no mail goes in
 * clear: a server without STARTTLS, a refused STARTTLS, a failed
 * handshake or (verify) certificate is a failure of that target (4.7.4,
 * 4.7.5), and the next one is tried.  The transaction itself is
 * remote_txn.c. */
#include "deliver/remote_session.h"
#include "deliver/remote_dest.h"
#include "deliver/remote_run.h"
#include "deliver/remote_tls.h"
#include "lib/tls.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Addresses tried per job at most (like Postfix's smtp_mx_address_limit:
 * a dead destination must not hold a job for an hour of timeouts). */
#define REMOTE_TARGETS_TRY 10

static void try_target(struct remote_session *s);
static void fail_target(struct remote_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tls_fail(struct remote_session *s, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static const char *qid_of(const struct remote_session *s)
{
	return s->job != NULL ? s->job->a.qid : "-";
}

void remote_session_set_deadline(struct remote_session *s, unsigned ms)
{
	s->deadline = agent_now_ms() + (ms ? ms : 1);
}

void remote_session_write(struct remote_session *s, const char *fmt, ...)
{
	struct buf *b = &s->rm->scratch;
	va_list ap;

	buf_reset(b);
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
	remote_conn_write(&s->conn, b->data, b->len);
}

static void session_free(struct remote_session *s)
{
	struct remote *rm = s->rm;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		rm->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	rm->nsessions--;
	remote_dest_detach(rm, s->dest);
	remote_txn_free(s);
	free(s->targets);
	free(s);
}

void remote_session_free_all(struct remote *rm)
{
	while (rm->sessions != NULL) {
		struct remote_session *s = rm->sessions;

		remote_dest_unpark(s->dest, s);
		if (s->conn_open && !s->conn.finished) {
			close(s->conn.fd);
			buf_free(&s->conn.out);
			buf_free(&s->conn.wire);
			tls_free(s->conn.tls);
		}
		s->job = NULL;
		session_free(s);
	}
}

void remote_session_close(struct remote_session *s, enum remote_after a)
{
	s->after = a;
	s->deadline = 0;
	remote_dest_unpark(s->dest, s);
	s->state = RS_CLOSING;
	if (s->conn_open)
		remote_conn_close(&s->conn);	/* cb_closed follows */
	else if (a == RA_FREE)
		session_free(s);
}

/* Hand the job back with its results; the session stays as it is. */
void remote_session_job_done(struct remote_session *s)
{
	struct remote_job *j = s->job;

	remote_txn_free(s);
	if (j == NULL)
		return;
	s->job = NULL;
	j->session = NULL;
	remote_run_job_done(s->rm, j);
}

/* After a transaction: park the connection or end it. */
static void idle_or_quit(struct remote_session *s)
{
	const struct conf *cf = s->rm->conf;

	if (s->state == RS_CLOSING)
		return;
	if (s->doomed || s->conn.eof || s->rm->stopping ||
	    s->msgs >= cf->smtp_connection_reuse_limit ||
	    cf->smtp_connection_idle == 0) {
		remote_session_quit(s);
		return;
	}
	s->state = RS_IDLE;
	remote_session_set_deadline(s, cf->smtp_connection_idle * 1000);
	remote_dest_put_idle(s->dest, s);
}

void remote_session_quit(struct remote_session *s)
{
	remote_dest_unpark(s->dest, s);
	if (s->conn.eof || !s->conn_open) {
		remote_session_close(s, RA_FREE);
		return;
	}
	log_debug("closing connection to %s after %u message(s)", s->relay,
	    s->msgs);
	remote_session_write(s, "QUIT\r\n");
	s->state = RS_QUIT;
	remote_session_set_deadline(s, s->rm->t.quit);
}

void remote_session_lost(struct remote_session *s, const char *dsn,
    const char *fmt, ...)
{
	struct remote_job *j = s->job;
	struct remote *rm = s->rm;
	char text[REMOTE_TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s->doomed = 1;
	if (j != NULL && s->reused && s->state == RS_TXN && !j->retried) {
		/* A cached connection the server had dropped: once more on a
		 * fresh one, transparently. */
		log_debug("%s: cached connection to %s failed (%s); retrying "
		    "on a new connection", j->a.qid, s->relay, text);
		remote_txn_free(s);
		s->job = NULL;
		j->session = NULL;
		j->retried = 1;
		j->fresh = 1;
		remote_session_close(s, RA_FREE);
		remote_run_dispatch(rm, j);
		return;
	}
	if (j != NULL)
		agent_job_set_rest(&j->a, AGENT_DEFERRED, dsn, s->relay, text);
	remote_session_job_done(s);
	remote_session_close(s, RA_FREE);
}

/* --- connection callbacks ------------------------------------------------ */

static struct remote_session *sess(struct remote_conn *c)
{
	return container_of(c, struct remote_session, conn);
}

/* EHLO keywords arrive through the reply parser's line hook. */
static void on_line(void *arg, const char *text, size_t n, unsigned lineno)
{
	struct remote_session *s = arg;

	if (s->state == RS_EHLO)
		remote_ehlo_line(&s->ehlo, text, n, lineno);
}

static void cb_connected(struct remote_conn *c, int err)
{
	struct remote_session *s = sess(c);

	if (s->state != RS_CONNECT)
		return;
	if (err < 0) {
		fail_target(s, "connect to %s: %s", s->relay, strerror(-err));
		return;
	}
	s->state = RS_GREETING;
	remote_session_set_deadline(s, s->rm->t.command);
}

static const char *setup_doing(const struct remote_session *s)
{
	switch (s->state) {
	case RS_GREETING:
		return "receiving the initial server greeting";
	case RS_EHLO:
		return "sending EHLO";
	case RS_HELO:
		return "sending HELO";
	case RS_STARTTLS:
		return "sending STARTTLS";
	case RS_TLS:
		return "performing the TLS handshake";
	default:
		return remote_txn_doing(s);
	}
}

static int in_setup(const struct remote_session *s)
{
	return s->state >= RS_CONNECT && s->state <= RS_TLS;
}

static void cb_eof(struct remote_conn *c, int err)
{
	struct remote_session *s = sess(c);
	char why[64] = "";

	if (err < 0)
		snprintf(why, sizeof(why), " (%s)", strerror(-err));
	if (s->state == RS_TLS && tls_policy_required(s->policy)) {
		tls_fail(s, REMOTE_DSN_TLS, "lost connection with %s during "
		    "the TLS handshake%s", s->relay, why);
	} else if (s->state == RS_TLS) {
		/* Servers that cannot do TLS often just hang up. */
		log_info("%s: lost connection with %s during the TLS "
		    "handshake%s; retrying without STARTTLS", qid_of(s),
		    s->relay, why);
		remote_session_close(s, RA_PLAIN);
	} else if (in_setup(s)) {
		fail_target(s, "lost connection with %s while %s%s", s->relay,
		    setup_doing(s), why);
	} else if (s->state == RS_TXN || s->state == RS_DATA ||
	    s->state == RS_DOT) {
		remote_session_lost(s, REMOTE_DSN_LOST,
		    "lost connection with %s while %s%s", s->relay,
		    remote_txn_doing(s), why);
	} else if (s->state != RS_CLOSING) {
		remote_session_close(s, RA_FREE);	/* idle, QUIT */
	}
}

static void cb_writable(struct remote_conn *c)
{
	struct remote_session *s = sess(c);

	if (s->state == RS_DATA || s->state == RS_DOT)
		remote_txn_writable(s);
}

/* Ready for mail: log the connection, start the job's transaction. */
static void ready(struct remote_session *s)
{
	char tls[96] = "";

	free(s->targets);
	s->targets = NULL;
	if (!s->logged) {
		if (s->tls_on)
			tls_describe(s->conn.tls, tls, sizeof(tls));
		log_debug("%s: connected to %s%s%s%s", qid_of(s), s->relay,
		    s->ehlo.ext & REMOTE_EXT_PIPELINING ? ", pipelining" : "",
		    s->tls_on ? ", TLS " : "", tls);
		s->logged = 1;
	}
	if (s->job == NULL) {
		remote_session_quit(s);
		return;
	}
	snprintf(s->job->a.tls, sizeof(s->job->a.tls), "%s", s->tls_field);
	remote_txn_start(s);
}

/* Under "verify" the certificate's fault is named (OpenSSL's verify
 * error), else OpenSSL's reason for the failed handshake. */
static void tls_handshake_failed(struct remote_session *s)
{
	const char *bad = NULL;

	if (s->policy == TLS_POLICY_VERIFY)
		bad = remote_tls_verify_error(s->conn.tls);
	if (bad != NULL) {
		tls_fail(s, REMOTE_DSN_TLS, "server certificate not verified "
		    "for %s: %s", s->relay, bad);
	} else if (tls_policy_required(s->policy)) {
		tls_fail(s, REMOTE_DSN_TLS, "%s with %s", tls_why(s->conn.tls),
		    s->relay);
	} else {
		log_info("%s: %s with %s; retrying without STARTTLS", qid_of(s),
		    tls_why(s->conn.tls), s->relay);
		remote_session_close(s, RA_PLAIN);
	}
}

static void cb_tls_done(struct remote_conn *c, int err)
{
	struct remote_session *s = sess(c);

	if (s->state != RS_TLS)
		return;
	if (err < 0) {
		tls_handshake_failed(s);
		return;
	}
	s->tls_on = 1;
	remote_tls_field(c->tls, s->tls_field, sizeof(s->tls_field));
	remote_ehlo_reset(&s->ehlo);
	remote_reply_init(&s->rp);
	remote_session_write(s, "EHLO %s\r\n", s->rm->helo);
	s->state = RS_EHLO;
	remote_session_set_deadline(s, s->rm->t.command);
}

/* STARTTLS when the policy and the server allow; "must" and "verify"
 * go no further without it.  (no_tls: "may" after a failed handshake.) */
static void after_ehlo(struct remote_session *s)
{
	int required = tls_policy_required(s->policy);

	if (s->tls_on || s->no_tls || s->policy == TLS_POLICY_NONE) {
		ready(s);
	} else if (!(s->ehlo.ext & REMOTE_EXT_STARTTLS)) {
		if (required)
			tls_fail(s, REMOTE_DSN_NOTLS, "TLS is required but "
			    "was not offered by %s", s->relay);
		else
			ready(s);
	} else if (s->rm->tls_ctx == NULL) {
		if (required)
			tls_fail(s, REMOTE_DSN_TLS, "TLS is required but this "
			    "agent has no TLS client context");
		else
			ready(s);
	} else {
		remote_session_write(s, "STARTTLS\r\n");
		s->state = RS_STARTTLS;
		remote_session_set_deadline(s, s->rm->t.command);
	}
}

/* After the 220 to STARTTLS: the handshake, verifying under "verify". */
static void start_tls(struct remote_session *s)
{
	const char *vhost = s->policy == TLS_POLICY_VERIFY ? s->sni : NULL;

	if (remote_conn_starttls(&s->conn, s->rm->tls_ctx, s->sni,
	    vhost) == 0) {
		s->state = RS_TLS;
		remote_session_set_deadline(s, s->rm->t.command);
		return;
	}
	/* The server now expects a handshake: start over. */
	if (tls_policy_required(s->policy)) {
		tls_fail(s, REMOTE_DSN_TLS, "cannot start TLS with %s",
		    s->relay);
		return;
	}
	log_info("%s: cannot start TLS with %s; retrying without STARTTLS",
	    qid_of(s), s->relay);
	remote_session_close(s, RA_PLAIN);
}

static void setup_reply(struct remote_session *s, const struct remote_reply *r)
{
	int ok = r->code / 100 == 2;

	switch (s->state) {
	case RS_GREETING:
		if (!ok) {
			fail_target(s, "host %s refused to talk to me: %s",
			    s->relay, r->text);
			return;
		}
		remote_session_write(s, "EHLO %s\r\n", s->rm->helo);
		s->state = RS_EHLO;
		break;
	case RS_EHLO:
		if (ok) {
			after_ehlo(s);
			return;
		}
		if (r->code / 100 != 5) {
			fail_target(s, "host %s refused EHLO: %s", s->relay,
			    r->text);
			return;
		}
		remote_ehlo_reset(&s->ehlo);
		remote_session_write(s, "HELO %s\r\n", s->rm->helo);
		s->state = RS_HELO;
		break;
	case RS_HELO:
		if (!ok)
			fail_target(s, "host %s refused HELO: %s", s->relay,
			    r->text);
		else
			after_ehlo(s);	/* "must" stops here */
		return;
	case RS_STARTTLS:
		if (r->code == 220) {
			start_tls(s);
		} else if (tls_policy_required(s->policy)) {
			tls_fail(s, REMOTE_DSN_NOTLS, "TLS is required but %s "
			    "refused STARTTLS: %s", s->relay, r->text);
		} else {
			log_debug("%s: %s refused STARTTLS: %s", qid_of(s),
			    s->relay, r->text);
			ready(s);	/* opportunistic: go on in plaintext */
		}
		return;
	default:
		break;
	}
	remote_session_set_deadline(s, s->rm->t.command);
}

static void handle_reply(struct remote_session *s, const struct remote_reply *r)
{
	switch (s->state) {
	case RS_GREETING:
	case RS_EHLO:
	case RS_HELO:
	case RS_STARTTLS:
		setup_reply(s, r);
		break;
	case RS_TXN:
	case RS_DATA:
	case RS_DOT:
		remote_txn_reply(s, r);
		break;
	case RS_IDLE:
		log_debug("idle connection to %s: %s", s->relay, r->text);
		remote_session_close(s, RA_FREE);
		break;
	case RS_QUIT:
		remote_session_close(s, RA_FREE);
		break;
	default:
		break;	/* RS_TLS takes no plaintext; closing: ignore */
	}
}

static void protocol_error(struct remote_session *s, const char *why)
{
	if (in_setup(s) || s->state == RS_TLS)
		fail_target(s, "protocol error from %s while %s: %s", s->relay,
		    setup_doing(s), why);
	else if (s->state == RS_TXN || s->state == RS_DATA ||
	    s->state == RS_DOT)
		remote_session_lost(s, REMOTE_DSN_PROTO,
		    "protocol error from %s while %s: %s", s->relay,
		    remote_txn_doing(s), why);
	else
		remote_session_close(s, RA_FREE);
}

static void cb_input(struct remote_conn *c, const char *p, size_t n)
{
	struct remote_session *s = sess(c);

	while (n > 0 && s->state != RS_CLOSING && s->state != RS_TLS &&
	    s->state != RS_CONNECT) {
		size_t used = 0;
		int rc = remote_reply_feed(&s->rp, p, n, &used);

		if (rc < 0) {
			protocol_error(s, s->rp.why);
			return;
		}
		if (rc == 0)
			return;
		p += used;
		n -= used;
		handle_reply(s, &s->rp.r);
	}
	/* Bytes after the 220 to STARTTLS are dropped (no plaintext
	 * injection into the TLS session). */
}

static void reset_connection(struct remote_session *s)
{
	remote_reply_init(&s->rp);
	remote_ehlo_reset(&s->ehlo);
	s->tls_on = s->reused = s->doomed = s->logged = 0;
	s->tls_field[0] = '\0';
	s->msgs = 0;
}

/* A new address gets STARTTLS again, whatever the last one did. */
static void next_target(struct remote_session *s)
{
	s->tix++;
	s->no_tls = 0;
}

static void cb_closed(struct remote_conn *c)
{
	struct remote_session *s = sess(c);

	s->conn_open = 0;
	reset_connection(s);
	switch (s->after) {
	case RA_NEXT_TARGET:
		next_target(s);
		try_target(s);
		break;
	case RA_PLAIN:
		s->no_tls = 1;
		try_target(s);
		break;
	case RA_FREE:
		session_free(s);
		break;
	}
}

static const struct remote_conn_cb session_cb = {
	.connected = cb_connected,
	.input = cb_input,
	.eof = cb_eof,
	.writable = cb_writable,
	.tls_done = cb_tls_done,
	.closed = cb_closed,
};

/* --- targets ------------------------------------------------------------- */

static void vfail_target(struct remote_session *s, const char *dsn,
    const char *fmt, va_list ap)
{
	vsnprintf(s->last_err, sizeof(s->last_err), fmt, ap);
	s->last_dsn = dsn;
	if (s->job != NULL)
		log_info("%s: %s", s->job->a.qid, s->last_err);
	if (s->conn_open)
		remote_session_close(s, RA_NEXT_TARGET);
	else {
		next_target(s);
		try_target(s);
	}
}

static void fail_target(struct remote_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_target(s, REMOTE_DSN_CONNECT, fmt, ap);
	va_end(ap);
}

/* A TLS policy failure: this target is no good, the next may be. */
static void tls_fail(struct remote_session *s, const char *dsn,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_target(s, dsn, fmt, ap);
	va_end(ap);
}

static void set_relay(struct remote_session *s, const struct dns_target *t)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (t->addr.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&t->addr;

		inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
		port = ntohs(a->sin_port);
	} else if (t->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&t->addr;

		inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
		port = ntohs(a->sin6_port);
	}
	snprintf(s->relay, sizeof(s->relay), "%.240s[%s]:%u", t->host, addr,
	    port);
	snprintf(s->sni, sizeof(s->sni), "%s", t->host);
}

static void try_target(struct remote_session *s)
{
	struct remote_job *j = s->job;

	if (j == NULL) {	/* aborted meanwhile */
		session_free(s);
		return;
	}
	while (s->targets != NULL && s->tix < s->targets->n) {
		const struct dns_target *t = &s->targets->t[s->tix];
		int rc;

		set_relay(s, t);
		rc = remote_conn_open(&s->conn, s->rm, &session_cb,
		    (const struct sockaddr *)&t->addr, t->addrlen);
		if (rc == 0) {
			s->conn_open = 1;
			s->state = RS_CONNECT;
			remote_session_set_deadline(s, s->rm->t.connect);
			return;
		}
		snprintf(s->last_err, sizeof(s->last_err), "connect to %s: %s",
		    s->relay, strerror(-rc));
		s->last_dsn = REMOTE_DSN_CONNECT;
		log_info("%s: %s", j->a.qid, s->last_err);
		next_target(s);
	}
	agent_job_set_rest(&j->a, AGENT_DEFERRED, s->last_dsn ? s->last_dsn :
	    REMOTE_DSN_CONNECT, "none", s->last_err[0] ? s->last_err :
	    "no address to connect to");
	remote_session_job_done(s);
	session_free(s);
}

static void dns_failed(struct remote_session *s, const struct dns_result *r)
{
	struct remote_job *j = s->job;
	const char *text = r->text[0] ? r->text : "Host or domain name not found";

	if (r->status == DNS_NULLMX)
		agent_job_set_rest(&j->a, AGENT_BOUNCED, REMOTE_DSN_NULLMX,
		    "none", r->text[0] ? r->text :
		    "Domain does not accept mail (null MX)");
	else if (r->status == DNS_NOTFOUND && j->hop.kind == REMOTE_HOP_MX)
		agent_job_set_rest(&j->a, AGENT_BOUNCED, REMOTE_DSN_NOTFOUND,
		    "none", text);
	else
		agent_job_set_rest(&j->a, AGENT_DEFERRED, REMOTE_DSN_DNS_TEMP,
		    "none", text);
	remote_session_job_done(s);
}

static void on_dns(void *arg, const struct dns_result *r)
{
	struct remote_session *s = arg;

	if (s->job == NULL) {	/* aborted while resolving */
		session_free(s);
		return;
	}
	if (r->status != DNS_OK || r->n == 0) {
		dns_failed(s, r);
		session_free(s);
		return;
	}
	s->targets = xmalloc(sizeof(*s->targets));
	memcpy(s->targets, r, sizeof(*r));
	if (s->targets->n > REMOTE_TARGETS_TRY)
		s->targets->n = REMOTE_TARGETS_TRY;
	s->tix = 0;
	try_target(s);
}

void remote_session_start(struct remote *rm, struct remote_dest *d,
    struct remote_job *j)
{
	struct remote_session *s = xcalloc(1, sizeof(*s));

	s->rm = rm;
	s->dest = d;
	remote_dest_attach(d);
	s->job = j;
	j->session = s;
	j->a.tls[0] = '\0';	/* a retry's first session may be gone */
	s->policy = tls_policy_effective(j->hop.tls,
	    (enum tls_policy)rm->conf->smtp_tls_policy);
	s->rp.line_fn = on_line;
	s->rp.line_arg = s;
	remote_reply_init(&s->rp);
	snprintf(s->relay, sizeof(s->relay), "none");
	s->next = rm->sessions;
	if (rm->sessions != NULL)
		rm->sessions->prev = s;
	rm->sessions = s;
	rm->nsessions++;
	s->state = RS_RESOLVE;
	/* May call on_dns (and free s) before it returns: nothing after. */
	dns_resolve(rm->dns, j->hop.name, j->hop.port,
	    j->hop.kind != REMOTE_HOP_ADDR, on_dns, s);
}

void remote_session_reuse(struct remote_session *s, struct remote_job *j)
{
	s->job = j;
	j->session = s;
	s->reused = 1;
	s->deadline = 0;
	snprintf(j->a.tls, sizeof(j->a.tls), "%s", s->tls_field);
	remote_txn_start(s);
}

void remote_session_abort(struct remote_session *s)
{
	if (s->job != NULL)
		s->job->session = NULL;
	s->job = NULL;
	remote_txn_free(s);
	s->aborted = 1;
	if (s->state == RS_RESOLVE)
		return;		/* on_dns frees it */
	s->doomed = 1;
	remote_session_close(s, RA_FREE);
}

static void timeout(struct remote_session *s)
{
	switch (s->state) {
	case RS_CONNECT:
		fail_target(s, "connect to %s: Connection timed out", s->relay);
		break;
	case RS_TLS:
		if (tls_policy_required(s->policy)) {
			tls_fail(s, REMOTE_DSN_TLS, "TLS handshake with %s "
			    "timed out", s->relay);
			break;
		}
		log_info("%s: TLS handshake with %s timed out; retrying "
		    "without STARTTLS", qid_of(s), s->relay);
		remote_session_close(s, RA_PLAIN);
		break;
	case RS_GREETING:
	case RS_EHLO:
	case RS_HELO:
	case RS_STARTTLS:
		fail_target(s, "conversation with %s timed out while %s",
		    s->relay, setup_doing(s));
		break;
	case RS_TXN:
	case RS_DATA:
	case RS_DOT:
		remote_session_lost(s, REMOTE_DSN_LOST,
		    "conversation with %s timed out while %s", s->relay,
		    remote_txn_doing(s));
		break;
	case RS_IDLE:
		remote_session_quit(s);
		break;
	case RS_QUIT:
		remote_session_close(s, RA_FREE);
		break;
	default:
		break;
	}
}

void remote_session_tick(struct remote_session *s, uint64_t now)
{
	if (s->deadline == 0 || now < s->deadline)
		return;
	s->deadline = 0;
	timeout(s);
}

void remote_session_txn_end(struct remote_session *s)
{
	remote_session_job_done(s);
	idle_or_quit(s);
}
