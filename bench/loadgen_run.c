/* loadgen_run: the driver of mta-loadgen.  Resolves the target, sets up
 * one ring and -c connection slots, hands out message numbers (-m budget
 * or -d deadline), prints a progress line on stderr once a second from a
 * ring timer, which also enforces each connection's deadline, and reports
 * when the last slot has closed.  With --rate (open loop) a 1 ms timer
 * starts messages on free or idle slots as they fall due.  Called by
 * loadgen_main. */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/date.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "bench/loadgen_ctx.h"
#include "bench/loadgen_tls.h"

uint64_t loadgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

int loadgen_ctx_claim(struct loadgen_ctx *ctx, unsigned long *seq)
{
	const struct loadgen_opts *o = ctx->o;

	if (ctx->loop.stopping)
		return 0;
	if (o->duration ? loadgen_now() >= ctx->t_end
	    : ctx->claimed >= o->messages)
		return 0;
	*seq = ++ctx->claimed;
	ctx->st.sent++;
	return 1;
}

/* Messages may still be started (-m not reached, -d not over). */
static int budget_left(struct loadgen_ctx *ctx)
{
	if (ctx->loop.stopping)
		return 0;
	if (ctx->o->duration)
		return loadgen_now() < ctx->t_end;
	return ctx->claimed < ctx->o->messages;
}

static void finish(struct loadgen_ctx *ctx)
{
	ctx->t_stop = loadgen_now();
	ev_stop(&ctx->loop);
}

/* --rate: start the due messages on ready slots, idle connections first
 * in LIFO order; QUIT the idle ones once the budget is spent. */
static void dispatch(struct loadgen_ctx *ctx)
{
	struct loadgen_stats *st = &ctx->st;
	struct loadgen_conn *c;
	unsigned long seq;

	while (ctx->claimed < ctx->due && ctx->nready > 0) {
		c = ctx->ready[--ctx->nready];
		c->in_ready = 0;
		if (c->state != LG_FREE && c->state != LG_IDLE)
			continue;	/* closing: it comes back when free */
		if (!loadgen_ctx_claim(ctx, &seq)) {
			c->in_ready = 1;
			ctx->nready++;
			break;
		}
		if (c->state == LG_IDLE)
			loadgen_conn_next(c, seq);
		else {
			ctx->active++;
			loadgen_conn_start(c, seq);
		}
	}
	if (ctx->due > ctx->claimed && ctx->due - ctx->claimed > st->backlog_max)
		st->backlog_max = ctx->due - ctx->claimed;
	if (budget_left(ctx))
		return;
	while (ctx->nready > 0) {
		c = ctx->ready[--ctx->nready];
		c->in_ready = 0;
		if (c->state == LG_IDLE)
			loadgen_conn_quit(c);
	}
	if (ctx->active == 0 && !ctx->loop.stopping)
		finish(ctx);
}

void loadgen_ctx_ready(struct loadgen_ctx *ctx, struct loadgen_conn *c)
{
	if (!c->in_ready) {
		c->in_ready = 1;
		ctx->ready[ctx->nready++] = c;
	}
	dispatch(ctx);
}

void loadgen_ctx_conn_done(struct loadgen_ctx *ctx, struct loadgen_conn *c)
{
	unsigned long seq;

	if (ctx->o->rate) {
		ctx->active--;
		loadgen_ctx_ready(ctx, c);
		return;
	}
	if (loadgen_ctx_claim(ctx, &seq)) {
		loadgen_conn_start(c, seq);
		return;
	}
	if (--ctx->active == 0)
		finish(ctx);
}

/* --rate: every millisecond, the messages due so far. */
static void on_rate(struct ev_op *op, int res, unsigned flags)
{
	struct loadgen_ctx *ctx = container_of(op, struct loadgen_ctx,
	    op_rate);
	uint64_t now = loadgen_now();
	unsigned long due;

	(void)res;
	(void)flags;
	due = (unsigned long)((now - ctx->t_start) * ctx->o->rate / 1000000);
	if (!ctx->o->duration && due > ctx->o->messages)
		due = ctx->o->messages;
	if (!ctx->o->duration || now < ctx->t_end)
		ctx->due = due;
	dispatch(ctx);
	if (!ctx->loop.stopping)
		ev_timeout(&ctx->loop, &ctx->op_rate, &ctx->rate_ts, 1);
}

static void progress(struct loadgen_ctx *ctx)
{
	const struct loadgen_stats *st = &ctx->st;

	fprintf(stderr, "mta-loadgen: %us ok %lu failed %lu rate %lu/s "
	    "conns %u errors %lu\n", ctx->ticks, st->ok, st->failed,
	    st->ok - ctx->last_ok, ctx->active,
	    st->conn_errors + st->conn_timeouts);
	ctx->last_ok = st->ok;
}

static void on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct loadgen_ctx *ctx = container_of(op, struct loadgen_ctx,
	    op_tick);
	uint64_t now = loadgen_now();
	unsigned i;

	(void)res;
	(void)flags;
	ctx->ticks++;
	date_rfc5322(time(NULL), ctx->date, sizeof(ctx->date));
	progress(ctx);
	for (i = 0; i < ctx->o->conns; i++)
		loadgen_conn_check(&ctx->conns[i], now);
	if (!ctx->loop.stopping)
		ev_timeout(&ctx->loop, &ctx->op_tick, &ctx->tick_ts, 1000);
}

/* Resolve HOST:PORT (numeric or by name) into ctx->addr. */
static void resolve(struct loadgen_ctx *ctx)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(ctx->o->host, ctx->o->port, &hints, &res);
	if (rc != 0)
		fatalx("%s:%s: %s", ctx->o->host, ctx->o->port,
		    gai_strerror(rc));
	memcpy(&ctx->addr, res->ai_addr, res->ai_addrlen);
	ctx->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

static void setup(struct loadgen_ctx *ctx, const struct loadgen_opts *o)
{
	unsigned entries = 256;
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	ctx->o = o;
	resolve(ctx);
	while (entries < o->conns * 2 && entries < 32768)
		entries *= 2;
	if ((rc = ev_init(&ctx->loop, entries)) < 0)
		fatalx("io_uring: %s", strerror(-rc));
	ctx->pid = (long)getpid();
	ctx->wall_start = (long long)time(NULL);
	date_rfc5322(time(NULL), ctx->date, sizeof(ctx->date));
	buf_init(&ctx->scratch, 0);
	ctx->conns = xcalloc(o->conns, sizeof(*ctx->conns));
	ctx->t_start = loadgen_now();
	ctx->t_end = ctx->t_start + o->duration * 1000000ULL;
	ctx->op_tick.fn = on_tick;
	ctx->op_rate.fn = on_rate;
	if (o->rate)
		ctx->ready = xcalloc(o->conns, sizeof(*ctx->ready));
	if (o->tls != LOADGEN_TLS_NONE &&
	    (ctx->tls_ctx = loadgen_tls_ctx_new(o->tls_resume)) == NULL)
		fatalx("TLS: cannot make a client context");
}

int loadgen_run(const struct loadgen_opts *o)
{
	struct loadgen_ctx *ctx = xcalloc(1, sizeof(*ctx));
	unsigned long seq;
	unsigned i;
	int rc, status;

	setup(ctx, o);
	for (i = 0; i < o->conns; i++) {
		struct loadgen_conn *c = &ctx->conns[i];

		c->ctx = ctx;
		c->fd = -1;
		buf_init(&c->wq, 0);
		buf_init(&c->wf, 0);
		buf_init(&c->msg, 0);
		buf_init(&c->plain, 0);
		buf_init(&c->wire, 0);
		if (o->tls != LOADGEN_TLS_NONE)
			c->tbuf = xmalloc(LOADGEN_TLS_RECV);
		if (o->rate) {
			c->in_ready = 1;
			ctx->ready[ctx->nready++] = c;
			continue;
		}
		if (!loadgen_ctx_claim(ctx, &seq))
			continue;
		ctx->active++;
		loadgen_conn_start(c, seq);
	}
	ev_timeout(&ctx->loop, &ctx->op_tick, &ctx->tick_ts, 1000);
	if (o->rate)
		ev_timeout(&ctx->loop, &ctx->op_rate, &ctx->rate_ts, 1);
	if ((ctx->active > 0 || o->rate) && (rc = ev_run(&ctx->loop)) < 0)
		fatalx("io_uring: %s", strerror(-rc));
	if (ctx->t_stop == 0)
		ctx->t_stop = loadgen_now();
	loadgen_report(stdout, o, &ctx->st,
	    (double)(ctx->t_stop - ctx->t_start) / 1e6);
	status = loadgen_stats_failed(&ctx->st) || ctx->st.failed;
	for (i = 0; i < o->conns; i++)
		loadgen_conn_free(&ctx->conns[i]);
	ev_exit(&ctx->loop);
	buf_free(&ctx->scratch);
	loadgen_samples_free(&ctx->st.eod);
	loadgen_samples_free(&ctx->st.c250);
	loadgen_samples_free(&ctx->st.hs);
	loadgen_tls_ctx_free(ctx->tls_ctx);
	free(ctx->conns);
	free(ctx->ready);
	free(ctx);
	return status;
}
