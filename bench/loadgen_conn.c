/* loadgen_conn: one SMTP client session of mta-loadgen on the ring:
 * connect, greeting, EHLO, then per message MAIL/RCPT.../DATA (one send
 * when the server offers PIPELINING), the dot-stuffed body, and QUIT.
 * With --tls the session runs over lib/tls: the ring still receives and
 * sends, raw bytes go through tls_input (plaintext into rbuf) and queued
 * plaintext through tls_write (into wire) before each send; smtps starts
 * TLS at connect, starttls after EHLO/STARTTLS (then EHLO again).
 * Called by loadgen_run; a slot is closed only when none of its ops is in
 * flight (shutdown + cancel, then wait for the last completion). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tls.h"
#include "bench/loadgen_ctx.h"
#include "bench/loadgen_msg.h"
#include "bench/loadgen_tls.h"

static void conn_close(struct loadgen_conn *c);
static void conn_fail(struct loadgen_conn *c, int timeout);

static void arm_recv(struct loadgen_conn *c)
{
	c->inflight++;
	if (c->tls != NULL)
		ev_recv(&c->ctx->loop, &c->op_recv, c->fd, c->tbuf,
		    LOADGEN_TLS_RECV);
	else
		ev_recv(&c->ctx->loop, &c->op_recv, c->fd, c->rbuf + c->rlen,
		    sizeof(c->rbuf) - c->rlen);
}

/* TLS broke: a failed handshake counts on its own, then as any error. */
static void tls_fail(struct loadgen_conn *c)
{
	if (c->tls == NULL || !tls_ready(c->tls))
		c->ctx->st.tls_failed++;
	conn_fail(c, 0);
}

/* Under TLS, queued plaintext becomes records in wire; the end-of-data
 * mark follows it.  0, or -1 when TLS failed (the slot is closing). */
static int seal(struct loadgen_conn *c)
{
	if (c->tls == NULL || c->wq.len == 0)
		return 0;
	if (tls_write(c->tls, c->wq.data, c->wq.len, &c->wire) < 0) {
		tls_fail(c);
		return -1;
	}
	buf_reset(&c->wq);
	c->eod_wire |= c->eod_queued;
	c->eod_queued = 0;
	return 0;
}

/* Send what is queued (plaintext, or TLS records in wire) unless a send
 * is already in flight. */
static void kick(struct loadgen_conn *c)
{
	struct buf *src = c->tls != NULL ? &c->wire : &c->wq;
	int *eod = c->tls != NULL ? &c->eod_wire : &c->eod_queued;
	struct buf t;

	if (c->state == LG_CLOSING || seal(c) < 0)
		return;
	if (c->sending || src->len == 0)
		return;
	t = c->wf;
	c->wf = *src;
	*src = t;
	buf_reset(src);
	c->eod_in_flight = *eod;
	*eod = 0;
	c->sending = 1;
	c->inflight++;
	c->deadline = loadgen_now() + c->ctx->o->timeout * 1000000ULL;
	ev_send(&c->ctx->loop, &c->op_send, c->fd, c->wf.data, c->wf.len);
}

static void queue(struct loadgen_conn *c, const char *s, size_t n)
{
	if (buf_append(&c->wq, s, n) < 0)
		panic("loadgen: send queue");
}

/* A message that did not make it (refused, or the connection died). */
static void txn_failed(struct loadgen_conn *c)
{
	if (c->in_txn) {
		c->ctx->st.failed++;
		c->in_txn = 0;
	}
}

static void send_quit(struct loadgen_conn *c)
{
	txn_failed(c);
	c->state = LG_QUIT;
	queue(c, "QUIT\r\n", 6);
	kick(c);
}

/* Command k of the transaction: 0 MAIL, 1..r RCPT, r+1 DATA. */
static void queue_cmd(struct loadgen_conn *c, unsigned k)
{
	const struct loadgen_opts *o = c->ctx->o;
	char rcpt[512];
	struct buf *b = &c->wq;
	int rc;

	if (k == 0)
		rc = buf_printf(b, "MAIL FROM:<%s>\r\n", o->from);
	else if (k <= o->rcpts) {
		rc = loadgen_msg_rcpt(rcpt, sizeof(rcpt), o->to, k - 1,
		    o->rcpts, o->domains, c->seq);
		if (rc == 0)
			rc = buf_printf(b, "RCPT TO:<%s>\r\n", rcpt);
	} else
		rc = buf_puts(b, "DATA\r\n");
	if (rc < 0)
		panic("loadgen: command: %s", strerror(-rc));
}

/* Build message c->seq and send its envelope. */
static void txn_start(struct loadgen_conn *c)
{
	struct loadgen_ctx *ctx = c->ctx;
	const struct loadgen_opts *o = ctx->o;
	char to[512];
	struct loadgen_msg m = {
		.seq = c->seq, .pid = ctx->pid, .start = ctx->wall_start,
		.date = ctx->date, .from = o->from, .to = to, .size = o->size,
	};
	unsigned k;

	if (loadgen_msg_rcpt(to, sizeof(to), o->to, 0, o->rcpts, o->domains,
	    c->seq) < 0)
		panic("loadgen: recipient too long");
	buf_reset(&ctx->scratch);
	buf_reset(&c->msg);
	if (loadgen_msg_build(&ctx->scratch, &m) < 0 ||
	    loadgen_msg_stuff(&c->msg, ctx->scratch.data, ctx->scratch.len) < 0)
		panic("loadgen: message build");
	c->msg_size = ctx->scratch.len;
	c->in_txn = 1;
	c->mail_ok = 0;
	c->rcpt_ok = 0;
	c->expect = 0;
	c->state = LG_TXN;
	for (k = 0; k <= (c->pipelining ? o->rcpts + 1 : 0); k++)
		queue_cmd(c, k);
	kick(c);
}

/* The next message on this connection, or QUIT. */
static void txn_next(struct loadgen_conn *c)
{
	if (c->ctx->o->rate) {		/* open loop: the clock decides */
		if (c->msgs >= c->ctx->o->per_conn)
			return send_quit(c);
		c->state = LG_IDLE;
		return loadgen_ctx_ready(c->ctx, c);
	}
	if (c->msgs < c->ctx->o->per_conn &&
	    loadgen_ctx_claim(c->ctx, &c->seq))
		txn_start(c);
	else
		send_quit(c);
}

/* Replies to MAIL, RCPT and DATA (in order, pipelined or not). */
static void txn_reply(struct loadgen_conn *c, int code)
{
	unsigned r = c->ctx->o->rcpts, k = c->expect++;
	struct loadgen_stats *st = &c->ctx->st;

	if (k == 0) {
		loadgen_stats_reply(st, LOADGEN_ST_MAIL, code);
		c->mail_ok = code / 100 == 2;
	} else if (k <= r) {
		loadgen_stats_reply(st, LOADGEN_ST_RCPT, code);
		c->rcpt_ok += code / 100 == 2;
	} else {
		loadgen_stats_reply(st, LOADGEN_ST_DATA, code);
		if (code != 354)
			return send_quit(c);
		c->state = LG_EOD;
		queue(c, c->msg.data, c->msg.len);
		c->eod_queued = 1;
		return kick(c);
	}
	if (c->pipelining)
		return;
	if (!c->mail_ok || (k == r && c->rcpt_ok == 0))
		return send_quit(c);
	queue_cmd(c, k + 1);
	kick(c);
}

static void eod_reply(struct loadgen_conn *c, int code)
{
	struct loadgen_stats *st = &c->ctx->st;
	uint64_t now = loadgen_now();

	loadgen_stats_reply(st, LOADGEN_ST_EOD, code);
	loadgen_samples_add(&st->eod, (uint32_t)(c->t_eod && now > c->t_eod ?
	    now - c->t_eod : 0));
	c->t_eod = 0;
	c->msgs++;
	c->in_txn = 0;
	if (code / 100 == 2) {
		st->ok++;
		st->bytes += c->msg_size;
	} else
		st->failed++;
	txn_next(c);
}

static void ehlo_line(struct loadgen_conn *c, const char *line, size_t n)
{
	if (!c->ctx->o->no_pipelining && n >= 14 &&
	    strncasecmp(line + 4, "PIPELINING", 10) == 0 &&
	    (n == 14 || line[14] == ' ' || line[14] == '\r'))
		c->pipelining = 1;
}

static void send_ehlo(struct loadgen_conn *c)
{
	c->state = LG_EHLO;
	c->pipelining = 0;
	if (buf_printf(&c->wq, "EHLO %s\r\n", c->ctx->o->helo) < 0)
		panic("loadgen: EHLO");
	kick(c);
}

/* Start the TLS session: at connect (smtps) or after STARTTLS's 220. */
static void tls_begin(struct loadgen_conn *c)
{
	c->tls = loadgen_tls_session(c->ctx->tls_ctx, c->ctx->o->host);
	if (c->tls == NULL || tls_start(c->tls, &c->wire) < 0)
		return tls_fail(c);
	kick(c);
}

/* The handshake completed: count it; starttls starts over with EHLO
 * (smtps waits for the greeting, which comes encrypted). */
static void tls_done(struct loadgen_conn *c)
{
	struct loadgen_stats *st = &c->ctx->st;

	st->tls_handshakes++;
	st->tls_resumed += tls_resumed(c->tls) != 0;
	loadgen_samples_add(&st->hs, (uint32_t)(loadgen_now() - c->t_connect));
	if (c->state == LG_HANDSHAKE)
		send_ehlo(c);
}

/* --handshake-only: this connection's work is done. */
static void handshake_ok(struct loadgen_conn *c)
{
	c->in_txn = 0;
	c->msgs++;
	c->ctx->st.ok++;
	send_quit(c);
}

/* EHLO accepted: STARTTLS first, or AUTH, or the first message. */
static void ehlo_ok(struct loadgen_conn *c)
{
	const struct loadgen_opts *o = c->ctx->o;

	if (o->tls == LOADGEN_TLS_STARTTLS && c->tls == NULL) {
		c->state = LG_STARTTLS;
		queue(c, "STARTTLS\r\n", 10);
		return kick(c);
	}
	if (o->handshake_only)
		return handshake_ok(c);
	loadgen_samples_add(&c->ctx->st.c250,
	    (uint32_t)(loadgen_now() - c->t_connect));
	if (o->auth_b64[0] == '\0')
		return txn_start(c);
	c->state = LG_AUTH;
	if (buf_printf(&c->wq, "AUTH PLAIN %s\r\n", o->auth_b64) < 0)
		panic("loadgen: AUTH");
	kick(c);
}

/* One complete reply (its last line) in state c->state. */
static void reply(struct loadgen_conn *c, int code)
{
	struct loadgen_stats *st = &c->ctx->st;

	switch (c->state) {
	case LG_GREETING:
		loadgen_stats_reply(st, LOADGEN_ST_GREETING, code);
		if (code != 220)
			return send_quit(c);
		if (c->ctx->o->handshake_only && c->tls != NULL)
			return handshake_ok(c);		/* smtps */
		return send_ehlo(c);
	case LG_EHLO:
		loadgen_stats_reply(st, LOADGEN_ST_EHLO, code);
		if (code != 250)
			return send_quit(c);
		return ehlo_ok(c);
	case LG_STARTTLS:
		loadgen_stats_reply(st, LOADGEN_ST_STARTTLS, code);
		if (code != 220)
			return send_quit(c);
		c->state = LG_HANDSHAKE;
		return tls_begin(c);
	case LG_AUTH:
		loadgen_stats_reply(st, LOADGEN_ST_AUTH, code);
		if (code != 235)
			return send_quit(c);
		return txn_start(c);
	case LG_TXN:
		return txn_reply(c, code);
	case LG_EOD:
		return eod_reply(c, code);
	case LG_QUIT:
		loadgen_stats_reply(st, LOADGEN_ST_QUIT, code);
		return conn_close(c);
	default:
		return;
	}
}

/* Split the receive buffer into lines; act on each reply's last line. */
static void parse(struct loadgen_conn *c)
{
	size_t off = 0;
	char *nl;

	while (c->state != LG_CLOSING && c->state != LG_HANDSHAKE &&
	    (nl = memchr(c->rbuf + off, '\n', c->rlen - off)) != NULL) {
		char *line = c->rbuf + off;
		size_t n = (size_t)(nl - line) + 1;
		int code = -1;

		if (n >= 4 && line[0] >= '1' && line[0] <= '5' &&
		    line[1] >= '0' && line[1] <= '9' &&
		    line[2] >= '0' && line[2] <= '9')
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
		off += n;
		if (c->state == LG_EHLO)
			ehlo_line(c, line, n);
		if (code >= 0 && line[3] == '-')
			continue;
		reply(c, code < 0 ? 0 : code);
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	if (c->rlen == sizeof(c->rbuf) || c->state == LG_HANDSHAKE)
		c->rlen = 0;	/* too long a line; or sent before TLS */
}

/* Decrypted bytes into rbuf, a bufferful at a time (parse empties it). */
static void feed(struct loadgen_conn *c)
{
	while (c->plain.len > 0 && c->state != LG_CLOSING) {
		size_t k = sizeof(c->rbuf) - c->rlen;

		if (k > c->plain.len)
			k = c->plain.len;
		memcpy(c->rbuf + c->rlen, c->plain.data, k);
		c->rlen += k;
		buf_consume(&c->plain, k);
		parse(c);
	}
}

/* n raw bytes arrived in tbuf. */
static void tls_recv(struct loadgen_conn *c, size_t n)
{
	int rc = tls_input(c->tls, c->tbuf, n, &c->plain, &c->wire);

	if (rc == 1)
		tls_done(c);
	if (rc != -EPROTO)
		feed(c);	/* -EPIPE: the 221 may precede close_notify */
	if (rc < 0 && c->state != LG_CLOSING) {
		if (rc == -EPIPE && c->state == LG_QUIT)
			return conn_close(c);
		return tls_fail(c);
	}
	kick(c);
}

/* Release the slot once nothing of it is on the ring. */
static void settle(struct loadgen_conn *c)
{
	if (c->state != LG_CLOSING || c->inflight > 0)
		return;
	close(c->fd);
	c->fd = -1;
	tls_free(c->tls);
	c->tls = NULL;
	c->state = LG_FREE;
	loadgen_ctx_conn_done(c->ctx, c);
}

static void conn_close(struct loadgen_conn *c)
{
	if (c->state == LG_CLOSING || c->state == LG_FREE)
		return;
	/* After 221: our close_notify marks the session cleanly ended, or
	 * OpenSSL would not resume it (the server has closed already, so the
	 * alert itself is not sent). */
	if (c->state == LG_QUIT && c->tls != NULL && tls_ready(c->tls)) {
		tls_close(c->tls, &c->wire);
		buf_reset(&c->wire);
	}
	c->state = LG_CLOSING;
	shutdown(c->fd, SHUT_RDWR);
	if (c->inflight)
		ev_cancel_fd(&c->ctx->loop, c->fd);
	/* the caller settles: callbacks after their last use of c */
}

/* The connection broke (error, timeout, or unexpected close). */
static void conn_fail(struct loadgen_conn *c, int timeout)
{
	if (c->state == LG_CLOSING)
		return;
	if (c->state != LG_QUIT && c->state != LG_IDLE) {
		if (timeout)
			c->ctx->st.conn_timeouts++;
		else
			c->ctx->st.conn_errors++;
	}
	txn_failed(c);
	conn_close(c);
}

static void on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct loadgen_conn *c = container_of(op, struct loadgen_conn,
	    op_recv);

	(void)flags;
	c->inflight--;
	if (res <= 0)
		conn_fail(c, 0);
	else if (c->state != LG_CLOSING) {
		c->deadline = loadgen_now() + c->ctx->o->timeout * 1000000ULL;
		if (c->tls != NULL)
			tls_recv(c, (size_t)res);
		else {
			c->rlen += (size_t)res;
			parse(c);
		}
		if (c->state != LG_CLOSING)
			arm_recv(c);
	}
	settle(c);
}

static void on_send(struct ev_op *op, int res, unsigned flags)
{
	struct loadgen_conn *c = container_of(op, struct loadgen_conn,
	    op_send);

	(void)flags;
	c->inflight--;
	if (res < 0) {
		c->sending = 0;
		conn_fail(c, 0);
	} else if ((size_t)res < c->wf.len) {	/* short: send the rest */
		buf_consume(&c->wf, (size_t)res);
		c->inflight++;
		ev_send(&c->ctx->loop, &c->op_send, c->fd, c->wf.data,
		    c->wf.len);
	} else {
		c->sending = 0;
		buf_reset(&c->wf);
		if (c->eod_in_flight) {
			c->eod_in_flight = 0;
			c->t_eod = loadgen_now();
		}
		kick(c);
	}
	settle(c);
}

static void on_connect(struct ev_op *op, int res, unsigned flags)
{
	struct loadgen_conn *c = container_of(op, struct loadgen_conn,
	    op_connect);

	(void)flags;
	c->inflight--;
	if (res < 0)
		conn_fail(c, 0);
	else if (c->state == LG_CONNECTING) {
		c->state = LG_GREETING;
		if (c->ctx->o->tls == LOADGEN_TLS_SMTPS)
			tls_begin(c);
		if (c->state != LG_CLOSING)
			arm_recv(c);
	}
	settle(c);
}

void loadgen_conn_start(struct loadgen_conn *c, unsigned long seq)
{
	struct loadgen_ctx *ctx = c->ctx;
	int one = 1;

	c->fd = socket(ctx->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fatal("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->op_connect.fn = on_connect;
	c->op_recv.fn = on_recv;
	c->op_send.fn = on_send;
	c->state = LG_CONNECTING;
	c->seq = seq;
	c->in_txn = 1;		/* the claimed message rides on this */
	c->msgs = 0;
	c->rlen = 0;
	c->pipelining = 0;
	c->sending = c->eod_queued = c->eod_in_flight = c->eod_wire = 0;
	c->t_eod = 0;
	buf_reset(&c->wq);
	buf_reset(&c->wf);
	buf_reset(&c->plain);
	buf_reset(&c->wire);
	c->t_connect = loadgen_now();
	c->deadline = c->t_connect + ctx->o->timeout * 1000000ULL;
	ctx->st.conns++;
	c->inflight++;
	io_uring_prep_connect(ev_sqe(&ctx->loop, &c->op_connect), c->fd,
	    (struct sockaddr *)&ctx->addr, ctx->addrlen);
}

void loadgen_conn_next(struct loadgen_conn *c, unsigned long seq)
{
	c->seq = seq;
	txn_start(c);
}

void loadgen_conn_quit(struct loadgen_conn *c)
{
	send_quit(c);
}

void loadgen_conn_check(struct loadgen_conn *c, uint64_t now)
{
	if (c->state != LG_FREE && c->state != LG_CLOSING &&
	    c->state != LG_IDLE && now > c->deadline) {
		conn_fail(c, 1);
		settle(c);
	}
}

void loadgen_conn_free(struct loadgen_conn *c)
{
	buf_free(&c->wq);
	buf_free(&c->wf);
	buf_free(&c->msg);
	buf_free(&c->plain);
	buf_free(&c->wire);
	tls_free(c->tls);
	c->tls = NULL;
	free(c->tbuf);
	c->tbuf = NULL;
}
