/* loadgen_ctx: the run state shared by loadgen_run (the driver: ring,
 * timers, message budget) and loadgen_conn (one SMTP client session per
 * slot).  One process, one ring; a slot's ops are embedded in it and
 * recovered with container_of.  Internal to bench/. */
#ifndef BENCH_LOADGEN_CTX_H
#define BENCH_LOADGEN_CTX_H
#include <stdint.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "bench/loadgen.h"
#include "bench/loadgen_stats.h"

enum loadgen_state {
	LG_FREE, LG_CONNECTING, LG_GREETING, LG_EHLO, LG_STARTTLS,
	LG_HANDSHAKE, LG_AUTH, LG_TXN, LG_EOD, LG_IDLE, LG_QUIT, LG_CLOSING
};

struct loadgen_ctx;
struct tls;

#define LOADGEN_TLS_RECV 16384	/* raw TLS bytes per recv */

struct loadgen_conn {
	struct loadgen_ctx *ctx;
	enum loadgen_state state;
	int fd;
	unsigned inflight;		/* ops on the ring */
	struct ev_op op_connect, op_recv, op_send;
	char rbuf[4096];
	size_t rlen;
	struct buf wq, wf;		/* queued / in flight */
	struct buf msg;			/* the stuffed message being sent */
	struct tls *tls;		/* NULL: plaintext (so far) */
	char *tbuf;			/* --tls: raw bytes received */
	struct buf plain;		/* decrypted, not yet in rbuf */
	struct buf wire;		/* encrypted, waiting for the send */
	int eod_wire;			/* the end of data is in wire */
	int sending, eod_queued, eod_in_flight;
	int pipelining, in_txn, mail_ok;
	int in_ready;			/* on ctx->ready (--rate) */
	unsigned rcpt_ok, expect, msgs;
	unsigned long seq;		/* the claimed message */
	size_t msg_size;
	uint64_t t_connect, t_eod, deadline;
};

struct loadgen_ctx {
	struct ev_loop loop;
	const struct loadgen_opts *o;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct loadgen_stats st;
	struct loadgen_conn *conns;
	void *tls_ctx;			/* --tls: the client SSL_CTX */
	unsigned active;		/* slots not LG_FREE */
	unsigned long claimed;		/* messages started */
	uint64_t t_start, t_stop, t_end;	/* t_end: -d deadline */
	long pid;
	long long wall_start;
	char date[64];
	struct buf scratch;		/* unstuffed message */
	struct ev_op op_tick, op_rate;
	struct __kernel_timespec tick_ts, rate_ts;
	struct loadgen_conn **ready;	/* --rate: free or idle slots */
	unsigned nready;
	unsigned long due;		/* --rate: messages due by now */
	unsigned ticks;
	unsigned long last_ok;
};

/* Monotonic microseconds. */
uint64_t loadgen_now(void);
/* Claim the next message number: 1 and *seq set, or 0 when the budget
 * (-m or -d) is spent. */
int loadgen_ctx_claim(struct loadgen_ctx *ctx, unsigned long *seq);
/* A slot closed: reuse it for a new connection or stop the run. */
void loadgen_ctx_conn_done(struct loadgen_ctx *ctx, struct loadgen_conn *c);
/* --rate: c is free or idle; start due messages on ready slots. */
void loadgen_ctx_ready(struct loadgen_ctx *ctx, struct loadgen_conn *c);

/* Open slot c's connection for message seq. */
void loadgen_conn_start(struct loadgen_conn *c, unsigned long seq);
/* Send message seq on idle connection c (--rate). */
void loadgen_conn_next(struct loadgen_conn *c, unsigned long seq);
/* QUIT idle connection c (--rate: the budget is spent). */
void loadgen_conn_quit(struct loadgen_conn *c);
/* Close c if its deadline passed (called once a second). */
void loadgen_conn_check(struct loadgen_conn *c, uint64_t now);
/* Free a slot's buffers. */
void loadgen_conn_free(struct loadgen_conn *c);

/* Print the results (text or JSON per o). */
void loadgen_report(FILE *f, const struct loadgen_opts *o,
    struct loadgen_stats *st, double secs);
#endif
