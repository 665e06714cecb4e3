/* libFuzzer target for the whole SMTP session (smtpd/smtpd_proto.c and
 * everything it drives: commands, pipelining, MAIL/RCPT and the relay
 * policy, DATA and BDAT content, AUTH, STARTTLS, error limits) over an
 * in-memory I/O layer, a fake queue writer and a fake password checker,
 * as in the transcript tests.  The input is what a client sends; the
 * first byte picks the config (bare LF normalised or refused, a small
 * size limit), the listener, an insider or outsider address and the
 * piece size; verdicts and password checks are answered between pieces.
 * Checked: the output is whole reply lines ("ddd-"/"ddd ", one code per
 * reply, at most 512 octets, RFC 5321 4.5.3.1.5), nothing is written
 * after close; queued content starts with the Received: header and holds
 * no bare CR or LF; nothing pipelined after STARTTLS is answered before
 * the "handshake" (the next input); without STARTTLS the same input fed
 * whole and in pieces gives the same replies and the same messages.
 * smtpd logs to stderr: tests/fuzz/run closes it (-close_fd_mask=2).
 * Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPEN_MAX 8
#define NO_MARK SIZE_MAX

struct fz {
	struct smtpd_session s;
	struct buf out;			/* every reply byte */
	int closed;
	size_t tls_mark;		/* out.len at STARTTLS in this call */
	int tls_seen;
	struct smtpd_qtxn *open[OPEN_MAX];
	struct buf content[OPEN_MAX];
	int committed[OPEN_MAX];
	uint64_t next_id, next_qid;
	uint64_t hash;			/* of the committed messages */
	struct smtpd_authq *authq;	/* a password check to answer */
	int auth_result;
};

static struct conf confs[2];

/* The Received: date, so that two runs give the same bytes. */
time_t time(time_t *t)
{
	if (t != NULL)
		*t = 1700000000;
	return 1700000000;
}

static void mix(struct fz *f, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		f->hash = (f->hash ^ b[i]) * 0x100000001b3ull;
}

/* ---- in-memory I/O ---- */

static void io_write(void *ctx, const char *p, size_t n)
{
	struct fz *f = ctx;

	if (f->closed)
		abort();
	buf_append(&f->out, p, n);
}

static void io_close(void *ctx)
{
	struct fz *f = ctx;

	if (f->closed++)
		abort();
}

static void io_pause(void *ctx, int on)
{
}

/* The handshake "succeeds": later input is what TLS decrypted. */
static int io_starttls(void *ctx)
{
	struct fz *f = ctx;

	f->tls_mark = f->out.len;
	f->tls_seen = 1;
	return 0;
}

static const struct smtpd_io_ops fz_io = {
	.write = io_write, .close = io_close, .pause = io_pause,
	.starttls = io_starttls,
};

/* ---- fake queue writer ---- */

static int slot(struct fz *f, struct smtpd_qtxn *t)
{
	for (int i = 0; i < OPEN_MAX; i++)
		if (f->open[i] == t && t->id != 0)
			return i;
	abort();	/* a call for a transaction the sink never opened */
}

static int sink_ready(void *ctx)
{
	return 1;
}

static int sink_begin(void *ctx, struct smtpd_qtxn *t,
    const struct smtpd_env *e)
{
	struct fz *f = ctx;

	for (int i = 0; i < OPEN_MAX; i++) {
		if (f->open[i] != NULL)
			continue;
		f->open[i] = t;
		f->committed[i] = 0;
		buf_reset(&f->content[i]);
		t->id = ++f->next_id;
		mix(f, e->sender, strlen(e->sender));
		mix(f, &e->nrcpt, sizeof(e->nrcpt));
		return 0;
	}
	abort();	/* one session holds one transaction at a time */
}

static void sink_data(void *ctx, struct smtpd_qtxn *t, const char *p,
    size_t n)
{
	struct fz *f = ctx;
	int i = slot(f, t);

	if (f->committed[i])
		abort();
	buf_append(&f->content[i], p, n);
}

static void check_content(const struct buf *c)
{
	if (c->len < 10 || memcmp(c->data, "Received: ", 10) != 0)
		abort();
	for (size_t i = 0; i < c->len; i++) {
		if (c->data[i] == '\n' && (i == 0 || c->data[i - 1] != '\r'))
			abort();
		if (c->data[i] == '\r' && (i + 1 == c->len ||
		    c->data[i + 1] != '\n'))
			abort();
	}
}

static void sink_commit(void *ctx, struct smtpd_qtxn *t)
{
	struct fz *f = ctx;
	int i = slot(f, t);

	if (f->committed[i])
		abort();
	f->committed[i] = 1;
	check_content(&f->content[i]);
	mix(f, f->content[i].data, f->content[i].len);
}

static void sink_cancel(void *ctx, struct smtpd_qtxn *t)
{
	struct fz *f = ctx;

	f->open[slot(f, t)] = NULL;
	t->id = 0;
	t->waiting = 0;
}

static int sink_congested(void *ctx, struct smtpd_qtxn *t)
{
	return 0;
}

static const struct smtpd_sink_ops fz_sink = {
	sink_ready, sink_begin, sink_data, sink_commit, sink_cancel,
	sink_congested,
};

/* ---- fake password checker: alice@example.test / secret ---- */

static int auth_blocked(void *ctx, const char *client)
{
	return 0;
}

static void auth_check(void *ctx, struct smtpd_authq *q, const char *client,
    const char *user, const char *pass, size_t passlen)
{
	struct fz *f = ctx;

	if (f->authq != NULL)
		abort();	/* two checks at once */
	f->auth_result = strcasecmp(user, "alice@example.test") == 0 &&
	    passlen == 6 && memcmp(pass, "secret", 6) == 0 ?
	    SMTPD_AUTH_OK : SMTPD_AUTH_FAIL;
	f->authq = q;
	q->job = f;
}

static void auth_cancel(void *ctx, struct smtpd_authq *q)
{
	struct fz *f = ctx;

	if (f->authq != q)
		abort();
	f->authq = NULL;
	q->job = NULL;
}

static const struct smtpd_authck_ops fz_auth = {
	auth_blocked, auth_check, auth_cancel,
};

/* ---- driving the session ---- */

/* After each call into the session: nothing answered past STARTTLS. */
static void tls_check(struct fz *f)
{
	if (f->tls_mark != NO_MARK && f->out.len != f->tls_mark)
		abort();
	f->tls_mark = NO_MARK;
}

/* An event-loop turn: the password check, then the writer's verdicts. */
static void deliver(struct fz *f)
{
	struct smtpd_authq *q;

	while ((q = f->authq) != NULL) {
		f->authq = NULL;
		q->job = NULL;
		q->done(q, f->auth_result);
		tls_check(f);
	}
	for (int i = 0; i < OPEN_MAX; i++) {
		struct smtpd_qtxn *t = f->open[i];
		char qid[17];

		if (t == NULL || !f->committed[i])
			continue;
		f->open[i] = NULL;
		t->id = 0;
		snprintf(qid, sizeof(qid), "%016llX",
		    (unsigned long long)++f->next_qid);
		t->done(t, SMTPD_Q_QUEUED, qid, 16);
		tls_check(f);
	}
}

/* Whole reply lines, one code per reply, none over 512 octets. */
static void check_replies(const struct buf *b)
{
	size_t off = 0;
	char code[3] = { 0, 0, 0 };
	int more = 0;

	while (off < b->len) {
		const char *p = b->data + off;
		const char *e = memchr(p, '\n', b->len - off);
		size_t n;

		if (e == NULL)
			abort();	/* output ends inside a line */
		n = (size_t)(e - p) + 1;
		if (n < 6 || n > 512 || p[n - 2] != '\r' ||
		    p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-'))
			abort();
		if (more && memcmp(code, p, 3) != 0)
			abort();
		memcpy(code, p, 3);
		more = p[3] == '-';
		off += n;
	}
	if (more)
		abort();
}

static void session(struct fz *f, uint8_t flags, const char *p, size_t n,
    size_t step)
{
	static const char *ip[2] = { "198.51.100.7", "192.0.2.10" };

	memset(f, 0, sizeof(*f));
	f->tls_mark = NO_MARK;
	f->hash = 0xcbf29ce484222325ull;
	buf_init(&f->out, 0);
	for (int i = 0; i < OPEN_MAX; i++)
		buf_init(&f->content[i], 0);
	smtpd_proto_init(&f->s, &confs[flags & 1]);
	f->s.authck = &fz_auth;
	f->s.authck_ctx = f;
	f->s.port = (enum smtpd_port)((flags >> 1) & 3) % 3;
	f->s.tls = f->s.port == SMTPD_PORT_SMTPS;
	f->s.io = &fz_io;
	f->s.io_ctx = f;
	f->s.sink = &fz_sink;
	f->s.sink_ctx = f;
	snprintf(f->s.client_ip, sizeof(f->s.client_ip), "%s",
	    ip[(flags >> 3) & 1]);
	f->s.client_port = 40000;
	f->s.trusted = (flags >> 3) & 1;
	smtpd_proto_start(&f->s);
	for (size_t off = 0; off < n; off += step) {
		if (!f->closed) {
			smtpd_proto_input(&f->s, p + off,
			    n - off < step ? n - off : step);
			tls_check(f);
		}
		deliver(f);
	}
	if (!f->closed) {
		smtpd_proto_eof(&f->s, 0);
		tls_check(f);
	}
	deliver(f);
	smtpd_proto_free(&f->s);
	check_replies(&f->out);
	mix(f, f->out.data, f->out.len);
	buf_free(&f->out);
	for (int i = 0; i < OPEN_MAX; i++)
		buf_free(&f->content[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char base[] = "hostname = mx.example.test\n"
	    "local_domains = example.test, localhost\n"
	    "mynetworks = 192.0.2.0/24\n";
	static const char strict[] = "smtpd_bare_lf = reject\n"
	    "message_size_limit = 2048\n";
	char text[512], err[CONF_ERR_MAX];

	log_init("fuzz_smtpd_session");
	for (int i = 0; i < 2; i++) {
		snprintf(text, sizeof(text), "%s%s", base, i ? strict : "");
		if (conf_load_string(&confs[i], "fuzz", text, strlen(text),
		    err, sizeof(err)) != 0)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz whole, pieces;
	const char *p = (const char *)data + 1;

	if (size < 1)
		return 0;
	session(&whole, data[0], p, size - 1, size > 1 ? size - 1 : 1);
	session(&pieces, data[0], p, size - 1, 1 + (size_t)(data[0] >> 4) * 4);
	if (!whole.tls_seen && !pieces.tls_seen && whole.hash != pieces.hash)
		abort();
	return 0;
}
