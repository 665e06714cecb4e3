/* Golden transcript tests for the SMTP state machine (Postfix style): each
 * tests/transcripts/NAME.in holds client lines and directives, NAME.ref
 * the expected server replies interleaved with what the queue writer got
 * ("@ " lines).  The real smtpd_proto runs over an in-memory I/O layer and
 * a fake queue writer (the only one in the tree), and every transcript is
 * replayed three ways -- whole, byte by byte, random pieces -- which must
 * all give the .ref exactly.  Format: see tests/transcripts/README.
 * MTA_TRANSCRIPT_UPDATE=1 rewrites the .ref files (review the diff!). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/authfail.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/mem.h"
#include "lib/netio.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_proto.h"

#define T_MAX 256
#define T_NAME 64
#define T_OPEN 8
#define T_CONTENT_LINES 40

enum split { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

struct fake_txn {
	struct smtpd_qtxn *t;
	struct buf content;
	int committed;
	int verdict;
	char text[128];
};

/* The fake password checker behind AUTH: one account, answers between
 * input pieces (never from inside a call, like smtpd_authck), failures
 * counted in a real lib/authfail table at time 0. */
#define T_AUTH_USER "alice@example.test"
#define T_AUTH_PASS "secret"
#define T_AUTH_TEMP_USER "temp@example.test"	/* users_file not loaded */

struct fake_auth {
	struct buf *log;
	struct authfail fails;
	struct smtpd_authq *pending;
	int result;
	int hold;		/* !auth hold: keep the verdict */
};

/* The fake queue writer. */
struct fake {
	struct fake_auth auth;
	struct buf *log;
	int down, congest, mode, hold;
	char text[128];
	uint64_t next_id, next_qid;
	struct fake_txn open[T_OPEN];
	struct smtpd_qtxn *waiters;
};

struct harness {
	struct conf conf;
	struct smtpd_session s;
	struct fake fw;
	struct buf log;
	int closed;
	enum smtpd_port port;	/* !port; smtps means TLS is up */
	enum split split;
	unsigned seed;
};

static void logf_(struct buf *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_(struct buf *log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(log, fmt, ap);
	va_end(ap);
}

/* ---- in-memory I/O layer ---- */

static void io_write(void *ctx, const char *p, size_t n)
{
	struct harness *h = ctx;

	cr_assert(!h->closed, "write after close");
	buf_append(&h->log, p, n);
}

static void io_close(void *ctx)
{
	struct harness *h = ctx;

	cr_assert(!h->closed, "closed twice");
	h->closed = 1;
	buf_puts(&h->log, "-- closed\r\n");
}

static void io_pause(void *ctx, int on)
{
	(void)ctx;
	(void)on;
}

static const struct smtpd_io_ops mem_io = {
	.write = io_write, .close = io_close, .pause = io_pause,
	.starttls = NULL,	/* STARTTLS: 454, tested with real clients */
};

/* ---- fake password checker ---- */

static int fa_blocked(void *ctx, const char *client)
{
	return authfail_blocked(&((struct fake_auth *)ctx)->fails, client, 0);
}

static void fa_check(void *ctx, struct smtpd_authq *q, const char *client,
    const char *user, const char *pass, size_t passlen)
{
	struct fake_auth *fa = ctx;
	size_t plen = strlen(T_AUTH_PASS);

	cr_assert(fa->pending == NULL, "two checks at once");
	if (strcasecmp(user, T_AUTH_TEMP_USER) == 0)
		fa->result = SMTPD_AUTH_TEMP;
	else if (strcasecmp(user, T_AUTH_USER) == 0 && passlen == plen &&
	    memcmp(pass, T_AUTH_PASS, plen) == 0)
		fa->result = SMTPD_AUTH_OK;
	else
		fa->result = SMTPD_AUTH_FAIL;
	if (fa->result == SMTPD_AUTH_FAIL)
		authfail_record(&fa->fails, client, 0);
	logf_(fa->log, "@ AUTH CHECK %s (%zu bytes): %s\r\n", user, passlen,
	    fa->result == SMTPD_AUTH_OK ? "ok" : fa->result == SMTPD_AUTH_FAIL ?
	    "fail" : "temp");
	fa->pending = q;
	q->job = fa;
}

static void fa_cancel(void *ctx, struct smtpd_authq *q)
{
	struct fake_auth *fa = ctx;

	cr_assert(fa->pending == q, "cancel of an unknown check");
	buf_puts(fa->log, "@ AUTH CANCEL\r\n");
	fa->pending = NULL;
	q->job = NULL;
}

static const struct smtpd_authck_ops fake_authck = {
	fa_blocked, fa_check, fa_cancel,
};

/* Verdicts until none is pending (a verdict lets the session take the
 * next pipelined AUTH, whose check is then answered too). */
static void fake_auth_deliver(struct fake_auth *fa)
{
	struct smtpd_authq *q;

	while ((q = fa->pending) != NULL && !fa->hold) {
		fa->pending = NULL;
		q->job = NULL;
		q->done(q, fa->result);
	}
}

/* ---- fake queue writer ---- */

static struct fake_txn *fake_find(struct fake *f, struct smtpd_qtxn *t)
{
	for (int i = 0; i < T_OPEN; i++)
		if (f->open[i].t == t && t->id != 0)
			return &f->open[i];
	return NULL;
}

static int fake_ready(void *ctx)
{
	return !((struct fake *)ctx)->down;
}

static int fake_begin(void *ctx, struct smtpd_qtxn *t,
    const struct smtpd_env *e)
{
	struct fake *f = ctx;

	if (f->down)
		return -ENOTCONN;
	for (int i = 0; i < T_OPEN; i++) {
		if (f->open[i].t != NULL)
			continue;
		memset(&f->open[i], 0, sizeof(f->open[i]));
		f->open[i].t = t;
		buf_init(&f->open[i].content, 0);
		t->id = ++f->next_id;
		logf_(f->log, "@ BEGIN client=%s helo=%s sender=<%s> rcpt=",
		    e->client, e->helo, e->sender);
		for (size_t k = 0; k < e->nrcpt && k < 3; k++)
			logf_(f->log, "%s<%s>", k ? "," : "", e->rcpt[k]);
		if (e->nrcpt > 3)
			logf_(f->log, ",... (%zu)", e->nrcpt);
		logf_(f->log, " body=%s%s", e->body, e->smtputf8 ?
		    " smtputf8" : "");
		if (e->has_size)
			logf_(f->log, " size=%llu",
			    (unsigned long long)e->size);
		buf_puts(f->log, "\r\n");
		return 0;
	}
	cr_assert_fail("too many open transactions");
	return -ENOSPC;
}

static void fake_data(void *ctx, struct smtpd_qtxn *t, const char *p,
    size_t n)
{
	struct fake_txn *ft = fake_find(ctx, t);

	cr_assert(ft != NULL && !ft->committed, "DATA outside a transaction");
	buf_append(&ft->content, p, n);
}

/* Print content lines, the Received: date replaced by DATE. */
static void fake_dump(struct fake *f, struct buf *c)
{
	size_t off = 0, lines = 0;
	int in_received = c->len >= 9 && memcmp(c->data, "Received:", 9) == 0;

	logf_(f->log, "@ COMMIT %zu bytes\r\n", c->len);
	while (off < c->len) {
		char *e = memmem(c->data + off, c->len - off, "\r\n", 2);
		size_t l = e ? (size_t)(e - c->data) - off : c->len - off;
		const char *semi;

		if (lines++ == T_CONTENT_LINES) {
			buf_puts(f->log, "@| ...\r\n");
			break;
		}
		buf_puts(f->log, "@| ");
		semi = in_received ? memmem(c->data + off, l, "; ", 2) : NULL;
		if (in_received && off > 0 && c->data[off] != '\t')
			in_received = 0;
		for (size_t k = 0; k < l; k++) {
			unsigned char ch = (unsigned char)c->data[off + k];

			if (semi != NULL && c->data + off + k == semi) {
				buf_puts(f->log, "; DATE");
				break;
			}
			if (ch == '\\' || ch < 32 || ch >= 127)
				logf_(f->log, "\\x%02x", ch);
			else
				buf_append(f->log, &ch, 1);
		}
		buf_puts(f->log, e ? "\r\n" : "\\c\r\n");
		off += l + (e ? 2 : 0);
	}
}

static void fake_commit(void *ctx, struct smtpd_qtxn *t)
{
	struct fake *f = ctx;
	struct fake_txn *ft = fake_find(f, t);

	cr_assert(ft != NULL && !ft->committed, "COMMIT outside a transaction");
	ft->committed = 1;
	ft->verdict = f->mode;
	snprintf(ft->text, sizeof(ft->text), "%s", f->text);
	fake_dump(f, &ft->content);
}

static void fake_forget(struct fake_txn *ft)
{
	buf_free(&ft->content);
	ft->t = NULL;
}

static void fake_cancel(void *ctx, struct smtpd_qtxn *t)
{
	struct fake *f = ctx;
	struct fake_txn *ft = fake_find(f, t);
	struct smtpd_qtxn **pp;

	for (pp = &f->waiters; *pp != NULL; pp = &(*pp)->wait_next)
		if (*pp == t) {
			*pp = t->wait_next;
			break;
		}
	t->waiting = 0;
	cr_assert(ft != NULL, "cancel of an unknown transaction");
	logf_(f->log, "@ %s (%zu bytes)\r\n", ft->committed ? "FORGET" :
	    "ABORT", ft->content.len);
	fake_forget(ft);
	t->id = 0;
}

static int fake_congested(void *ctx, struct smtpd_qtxn *t)
{
	struct fake *f = ctx;

	if (!f->congest)
		return 0;
	if (!t->waiting) {
		t->waiting = 1;
		t->wait_next = f->waiters;
		f->waiters = t;
		buf_puts(f->log, "@ CONGESTED\r\n");
	}
	return 1;
}

static const struct smtpd_sink_ops fake_sink = {
	fake_ready, fake_begin, fake_data, fake_commit, fake_cancel,
	fake_congested,
};

/* Between input pieces (an event-loop turn): give pending verdicts. */
static void fake_deliver(struct fake *f)
{
	fake_auth_deliver(&f->auth);
	if (f->hold)
		return;
	for (int i = 0; i < T_OPEN; i++) {
		struct fake_txn *ft = &f->open[i];
		struct smtpd_qtxn *t = ft->t;
		char qid[17];

		if (t == NULL || !ft->committed)
			continue;
		fake_forget(ft);
		t->id = 0;
		if (ft->verdict == SMTPD_Q_QUEUED) {
			snprintf(qid, sizeof(qid), "%016llX",
			    (unsigned long long)++f->next_qid);
			t->done(t, SMTPD_Q_QUEUED, qid, 16);
		} else {
			t->done(t, ft->verdict, ft->text, strlen(ft->text));
		}
	}
}

static void fake_lose(struct fake *f)
{
	buf_puts(f->log, "@ LOST\r\n");
	f->down = 1;
	f->waiters = NULL;
	for (int i = 0; i < T_OPEN; i++) {
		struct smtpd_qtxn *t = f->open[i].t;

		if (t == NULL)
			continue;
		fake_forget(&f->open[i]);
		t->id = 0;
		t->waiting = 0;
		t->done(t, SMTPD_Q_LOST, "", 0);
	}
}

static void fake_drain(struct fake *f)
{
	struct smtpd_qtxn *list = f->waiters;

	f->congest = 0;
	f->waiters = NULL;
	buf_puts(f->log, "@ DRAINED\r\n");
	while (list != NULL) {
		struct smtpd_qtxn *t = list;

		list = t->wait_next;
		t->waiting = 0;
		t->wake(t);
	}
}

/* ---- transcript files ---- */

static const char *transcript_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv("MTA_TRANSCRIPTS") != NULL)
		return getenv("MTA_TRANSCRIPTS");
	if (access("tests/transcripts", R_OK) == 0)
		return "tests/transcripts";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert(n > 0);
	exe[n] = '\0';	/* TOP/BUILD/tests/test_x */
	snprintf(dir, sizeof(dir), "%s/../../tests/transcripts", dirname(exe));
	return dir;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct buf b;
	char tmp[8192];
	size_t n;

	if (fp == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		buf_append(&b, tmp, n);
	fclose(fp);
	*len = b.len;
	buf_cstr(&b);
	return b.data ? b.data : xstrdup("");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One client line with escapes; CRLF appended unless it ends in \c. */
static void unescape_line(const char *s, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i++];

		if (c != '\\' || i == len) {
			buf_append(out, &c, 1);
			continue;
		}
		c = s[i++];
		switch (c) {
		case 'r': buf_append(out, "\r", 1); break;
		case 'n': buf_append(out, "\n", 1); break;
		case 't': buf_append(out, "\t", 1); break;
		case '0': buf_append(out, "", 1); break;
		case '\\': buf_append(out, "\\", 1); break;
		case 'c':
			if (i == len)
				return;	/* no line end */
			cr_assert_fail("\\c must end the line");
			break;
		case 'x': {
			char v;

			cr_assert(i + 2 <= len && hexval(s[i]) >= 0 &&
			    hexval(s[i + 1]) >= 0, "bad \\x escape");
			v = (char)(hexval(s[i]) << 4 | hexval(s[i + 1]));
			buf_append(out, &v, 1);
			i += 2;
			break;
		}
		default:
			cr_assert_fail("bad escape \\%c", c);
		}
	}
	buf_append(out, "\r\n", 2);
}

/* Feed a segment of client input in pieces; verdicts between pieces. */
static void feed(struct harness *h, struct buf *seg)
{
	size_t off = 0;

	while (off < seg->len) {
		size_t k = seg->len - off;

		if (h->split == SPLIT_BYTES)
			k = 1;
		else if (h->split == SPLIT_RANDOM && k > 1)
			k = 1 + (size_t)(rand_r(&h->seed) % (k < 17 ? k : 17));
		if (!h->closed)
			smtpd_proto_input(&h->s, seg->data + off, k);
		off += k;
		fake_deliver(&h->fw);
	}
	buf_reset(seg);
	fake_deliver(&h->fw);
}

static void session_begin(struct harness *h, struct buf *conftext,
    const char *client)
{
	char err[CONF_ERR_MAX];
	struct sockaddr_storage ss;
	socklen_t len;

	cr_assert_eq(conf_load_string(&h->conf, "transcript", conftext->data ?
	    conftext->data : "", conftext->len, err, sizeof(err)), 0, "%s",
	    err);
	smtpd_proto_init(&h->s, &h->conf);
	authfail_init(&h->fw.auth.fails, 16, h->conf.smtpd_auth_fail_limit,
	    h->conf.smtpd_auth_fail_window);
	h->fw.auth.log = &h->log;
	h->s.authck = &fake_authck;
	h->s.authck_ctx = &h->fw.auth;
	h->s.port = h->port;
	h->s.tls = h->port == SMTPD_PORT_SMTPS;
	h->s.io = &mem_io;
	h->s.io_ctx = h;
	h->s.sink = &fake_sink;
	h->s.sink_ctx = &h->fw;
	snprintf(h->s.client_ip, sizeof(h->s.client_ip), "%s", client);
	h->s.client_port = 40000;
	memset(&ss, 0, sizeof(ss));
	len = 0;
	if (inet_pton(AF_INET, client, &((struct sockaddr_in *)&ss)->sin_addr))
		ss.ss_family = AF_INET, len = 1;
	else if (inet_pton(AF_INET6, client,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr))
		ss.ss_family = AF_INET6, len = 1;
	cr_assert(len, "bad !client address");
	h->s.trusted = conf_in_mynetworks(&h->conf, (struct sockaddr *)&ss);
	h->s.loopback = netio_is_loopback(&ss);
	smtpd_proto_start(&h->s);
}

static void writer_directive(struct harness *h, const char *arg)
{
	struct fake *f = &h->fw;

	if (strcmp(arg, "ok") == 0) {
		f->mode = SMTPD_Q_QUEUED;
	} else if (strncmp(arg, "tempfail", 8) == 0) {
		f->mode = SMTPD_Q_TEMPFAIL;
		snprintf(f->text, sizeof(f->text), "%s", arg + 8);
	} else if (strncmp(arg, "reject", 6) == 0) {
		f->mode = SMTPD_Q_REJECT;
		snprintf(f->text, sizeof(f->text), "%s", arg + 6);
	} else if (strcmp(arg, "hold") == 0) {
		f->hold = 1;
	} else if (strcmp(arg, "release") == 0) {
		f->hold = 0;
	} else if (strcmp(arg, "down") == 0) {
		f->down = 1;
	} else if (strcmp(arg, "up") == 0) {
		f->down = 0;
	} else if (strcmp(arg, "lose") == 0) {
		fake_lose(f);
	} else if (strcmp(arg, "congest") == 0) {
		f->congest = 1;
	} else if (strcmp(arg, "drain") == 0) {
		fake_drain(f);
	} else {
		cr_assert_fail("unknown !writer %s", arg);
	}
}

/* A directive line (after '!'); the pending segment is fed first. */
static void directive(struct harness *h, char *d, struct buf *seg)
{
	if (strncmp(d, "repeat ", 7) == 0) {
		char *line;
		long n = strtol(d + 7, &line, 10);

		cr_assert(n > 0 && *line == ' ', "!repeat N LINE");
		for (long i = 0; i < n; i++)
			unescape_line(line + 1, strlen(line + 1), seg);
		return;
	}
	if (strncmp(d, "bytes ", 6) == 0) {
		char *c;
		long n = strtol(d + 6, &c, 10);

		cr_assert(n > 0 && c[0] == ' ' && c[1] != '\0', "!bytes N C");
		for (long i = 0; i < n; i++)
			buf_append(seg, c + 1, 1);
		return;
	}
	feed(h, seg);
	if (strncmp(d, "writer ", 7) == 0)
		writer_directive(h, d + 7);
	else if (strcmp(d, "auth hold") == 0)
		h->fw.auth.hold = 1;
	else if (strcmp(d, "auth release") == 0)
		h->fw.auth.hold = 0;
	else if (strcmp(d, "eof") == 0)
		smtpd_proto_eof(&h->s, 0);
	else if (strcmp(d, "timeout") == 0)
		smtpd_proto_timeout(&h->s);
	else if (strcmp(d, "shutdown") == 0)
		smtpd_proto_shutdown(&h->s, 0);
	else if (strcmp(d, "shutdown-force") == 0)
		smtpd_proto_shutdown(&h->s, 1);
	else
		cr_assert_fail("unknown directive !%s", d);
	fake_deliver(&h->fw);
}

/* Collapse runs of identical lines into "LINE [xN]". */
static void collapse(const struct buf *in, struct buf *out)
{
	size_t off = 0, prev_len = 0, run = 0;
	const char *prev = NULL;

	while (off <= in->len) {
		const char *e = off < in->len ?
		    memmem(in->data + off, in->len - off, "\r\n", 2) : NULL;
		size_t l = e ? (size_t)(e - (in->data + off)) : in->len - off;
		const char *line = in->data + off;

		if (prev != NULL && (e == NULL || l != prev_len ||
		    memcmp(line, prev, l) != 0)) {
			buf_append(out, prev, prev_len);
			if (run > 1)
				buf_printf(out, " [x%zu]", run);
			buf_puts(out, "\n");
			run = 0;
		}
		if (e == NULL) {
			cr_assert_eq(l, 0, "output ends inside a line");
			break;
		}
		if (run == 0) {
			prev = line;
			prev_len = l;
		}
		run++;
		off += l + 2;
	}
}

/* Run one transcript in one split mode; returns the collapsed log. */
static void replay(const char *in, size_t inlen, enum split split,
    struct buf *result)
{
	struct harness *h = xcalloc(1, sizeof(*h));
	struct buf conftext, seg;
	char client[64] = "198.51.100.7";
	size_t off = 0;
	int started = 0;

	buf_init(&h->log, 0);
	buf_init(&conftext, 0);
	buf_init(&seg, 0);
	buf_puts(&conftext, "hostname = mx.example.test\n"
	    "local_domains = example.test, localhost\n"
	    "mynetworks = 192.0.2.0/24\n");
	h->split = split;
	h->seed = 42;
	h->fw.log = &h->log;
	h->fw.mode = SMTPD_Q_QUEUED;
	while (off < inlen) {
		const char *nl = memchr(in + off, '\n', inlen - off);
		size_t l = nl ? (size_t)(nl - (in + off)) : inlen - off;
		char *line = xstrndup(in + off, l);

		off += l + 1;
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (line[0] == '#') {
			free(line);
			continue;
		}
		if (!started && strncmp(line, "!conf ", 6) == 0) {
			buf_printf(&conftext, "%s\n", line + 6);
		} else if (!started && strncmp(line, "!client ", 8) == 0) {
			snprintf(client, sizeof(client), "%s", line + 8);
		} else if (!started && strncmp(line, "!port ", 6) == 0) {
			h->port = strcmp(line + 6, "submission") == 0 ?
			    SMTPD_PORT_SUBMISSION : strcmp(line + 6, "smtps") ==
			    0 ? SMTPD_PORT_SMTPS : SMTPD_PORT_SMTP;
		} else {
			if (!started)
				session_begin(h, &conftext, client);
			started = 1;
			if (line[0] == '!')
				directive(h, line + 1, &seg);
			else
				unescape_line(line, l, &seg);
		}
		free(line);
	}
	if (!started)
		session_begin(h, &conftext, client);
	feed(h, &seg);
	if (!h->closed) {
		buf_puts(&h->log, "-- end of input\r\n");
		smtpd_proto_eof(&h->s, 0);
	}
	smtpd_proto_free(&h->s);
	authfail_free(&h->fw.auth.fails);
	collapse(&h->log, result);
	buf_free(&h->log);
	buf_free(&conftext);
	buf_free(&seg);
	conf_free(&h->conf);
	free(h);
}

struct tname {
	char name[T_NAME];
};

ParameterizedTestParameters(smtpd_transcripts, replay)
{
	static struct tname t[T_MAX];
	size_t n = 0;
	DIR *d = opendir(transcript_dir());
	struct dirent *e;

	if (d == NULL)
		return cr_make_param_array(struct tname, t, 0);
	while ((e = readdir(d)) != NULL && n < T_MAX) {
		size_t l = strlen(e->d_name);

		if (l > 3 && l < T_NAME &&
		    strcmp(e->d_name + l - 3, ".in") == 0)
			snprintf(t[n++].name, T_NAME, "%.*s", (int)(l - 3),
			    e->d_name);
	}
	closedir(d);
	qsort(t, n, sizeof(t[0]), (int (*)(const void *, const void *))strcmp);
	return cr_make_param_array(struct tname, t, n);
}

static void first_difference(const struct buf *got, const char *want,
    size_t wantlen, const char *name, const char *mode)
{
	size_t i = 0, line = 1, start = 0;

	while (i < got->len && i < wantlen && got->data[i] == want[i]) {
		if (want[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	cr_assert_fail("%s (%s): differs at line %zu:\n  got:  %.*s\n  want: "
	    "%.*s", name, mode, line,
	    (int)strcspn(got->data + start, "\n"), got->data + start,
	    (int)strcspn(want + start, "\n"), want + start);
}

ParameterizedTest(struct tname *tc, smtpd_transcripts, replay)
{
	static const char *const modes[] = { "whole", "bytes", "random" };
	char path[PATH_MAX];
	char *in, *ref;
	size_t inlen, reflen;
	struct buf got;

	snprintf(path, sizeof(path), "%s/%s.in", transcript_dir(), tc->name);
	in = slurp(path, &inlen);
	cr_assert(in != NULL, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s.ref", transcript_dir(), tc->name);
	for (int m = SPLIT_WHOLE; m <= SPLIT_RANDOM; m++) {
		buf_init(&got, 0);
		replay(in, inlen, (enum split)m, &got);
		if (m == SPLIT_WHOLE && getenv("MTA_TRANSCRIPT_UPDATE")) {
			FILE *fp = fopen(path, "wb");

			cr_assert(fp != NULL);
			fwrite(got.data, 1, got.len, fp);
			fclose(fp);
		}
		ref = slurp(path, &reflen);
		cr_assert(ref != NULL, "%s: %s", path, strerror(errno));
		if (reflen != got.len || memcmp(ref, got.data, reflen) != 0)
			first_difference(&got, ref, reflen, tc->name, modes[m]);
		free(ref);
		buf_free(&got);
	}
	free(in);
}

Test(smtpd_transcripts, there_are_transcripts)
{
	DIR *d = opendir(transcript_dir());
	struct dirent *e;
	int n = 0;

	cr_assert(d != NULL, "no transcript directory %s", transcript_dir());
	while ((e = readdir(d)) != NULL)
		n += strlen(e->d_name) > 3 &&
		    strcmp(e->d_name + strlen(e->d_name) - 3, ".in") == 0;
	closedir(d);
	cr_assert_geq(n, 20, "only %d transcripts", n);
}

/* The command deadline starts when the session begins waiting for a
 * command and is not pushed back by partial lines (slowloris); in DATA
 * every block received counts. */
Test(smtpd_proto, partial_bytes_do_not_extend_the_deadline)
{
	const char *cmds = "MAIL FROM:<a@b.example>\r\nRCPT TO:<u@localhost>"
	    "\r\nDATA\r\npart";
	struct harness *h = xcalloc(1, sizeof(*h));
	struct buf conftext;

	buf_init(&h->log, 0);
	buf_init(&conftext, 0);
	buf_puts(&conftext, "hostname = mx.example.test\n");
	h->fw.log = &h->log;
	h->fw.mode = SMTPD_Q_QUEUED;
	session_begin(h, &conftext, "198.51.100.7");
	cr_assert_gt(h->s.deadline, 0);
	h->s.deadline = 12345;
	smtpd_proto_input(&h->s, "EH", 2);
	smtpd_proto_input(&h->s, "LO x", 4);
	cr_assert_eq(h->s.deadline, 12345, "partial line moved the deadline");
	smtpd_proto_input(&h->s, "\r\n", 2);
	cr_assert_gt(h->s.deadline, 12345, "a command starts a new wait");
	h->s.deadline = 12345;
	smtpd_proto_input(&h->s, cmds, strlen(cmds));
	cr_assert_eq(h->s.state, SMTPD_S_DATA);
	h->s.deadline = 12345;
	smtpd_proto_input(&h->s, "ial", 3);
	cr_assert_gt(h->s.deadline, 12345, "data blocks count as progress");
	smtpd_proto_timeout(&h->s);
	cr_assert(h->closed);
	cr_assert_eq(h->s.deadline, 0);
	smtpd_proto_free(&h->s);
	authfail_free(&h->fw.auth.fails);
	buf_free(&h->log);
	buf_free(&conftext);
	conf_free(&h->conf);
	free(h);
}
