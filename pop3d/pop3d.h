/* pop3d.h: one POP3 connection (I/O, session state, its mailbox and the
 * ops it may have in flight) and the worker process that owns them all.
 * A connection is freed only when its netio is done and no job, timer or
 * file read of it is still in flight (pop3d_conn_release). */
#ifndef POP3D_H
#define POP3D_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/authfail.h"
#include "lib/conf.h"
#include "lib/connlimit.h"
#include "lib/ev.h"
#include "lib/netio.h"
#include "lib/netsrv.h"
#include "pop3d/pop3d_cmd.h"
#include "pop3d/pop3d_mbox.h"
#include "pop3d/pop3d_reply.h"
#include "pop3d/pop3d_wire.h"
#include "pop3d/pop3d_worker.h"

#define POP3D_IP_MAX 48
#define POP3D_ERROR_LIMIT 10		/* bad commands before we close */
#define POP3D_IN_HIGH (64 * 1024)	/* pause reading above this */
#define POP3D_READ_CHUNK (64 * 1024)	/* RETR file reads */
#define POP3D_REFUSE_TLS_MS 10000	/* pop3s over a limit: handshake time */

enum pop3d_state {
	POP3D_S_AUTH,			/* AUTHORIZATION */
	POP3D_S_TRANS,			/* TRANSACTION */
	POP3D_S_CLOSED,			/* QUIT done, error or lost */
};

struct pop3d_server;

struct pop3d_conn {
	struct netio io;
	struct pop3d_server *sv;
	struct netsrv_node node;	/* in sv->srv.conns */
	struct connlimit_ticket cl;	/* counted in sv->cl */
	int refuse;			/* pop3s: the -ERR once TLS is up */
	enum pop3d_state state;
	struct buf in;			/* received, not yet handled */
	int discarding;			/* inside an overlong line */
	int busy;			/* a command is still being answered */
	int sasl;			/* next line is an AUTH PLAIN response */
	int io_done, paused;
	int updating;			/* QUIT seen: the UPDATE job runs */
	unsigned errors;
	uint64_t deadline;		/* ms, idle autologout */
	char ip[POP3D_IP_MAX];
	int loopback;
	int tls;			/* TLS is up (after STLS, or pop3s) */
	int tls_restart;		/* STLS answered: drop pipelined input */
	char user[POP3D_USER_MAX + 1];
	struct pop3d_mbox mb;
	unsigned retrieved, deleted;
	struct pop3d_job job;
	int job_busy;
	struct ev_op timer_op;		/* failed-login delay */
	struct __kernel_timespec timer_ts;
	int timer_busy;
	int rfd;			/* RETR/TOP: the message file */
	struct ev_op read_op;
	int read_busy, read_wait;
	char *rbuf;
	uint64_t roff, rsize;		/* read so far; the file's size */
	struct pop3d_wire wire;
	struct buf scratch;
};

#define POP3D_LISTEN_MAX NETSRV_LISTEN_MAX

struct pop3d_server {
	struct netsrv srv;		/* ring, listeners, connections */
	const struct conf *conf;
	struct pop3d_workers workers;
	struct authfail fails;
	void *tls_ctx;			/* NULL: no STLS, pop3s refused */
	struct connlimit cl;		/* connections per client address */
	char mail_root[4200];
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
	uint64_t stop_deadline;
};

/* Listener tags. */
enum pop3d_port { POP3D_PORT_POP3, POP3D_PORT_POP3S };

/* ---- pop3d_session.c: lines, AUTHORIZATION, the shared reply path ---- */
/* 1 if c may send a password now: over TLS, or from loopback when
 * pop3_plaintext_loopback allows it. */
int pop3d_may_login(const struct pop3d_conn *c);
/* Greet a new connection. */
void pop3d_session_start(struct pop3d_conn *c);
/* Over a connection limit: reply r instead of the greeting, and close;
 * with implicit TLS (c->tls) only once it is up (pop3d_session_secured),
 * for which the client has POP3D_REFUSE_TLS_MS. */
void pop3d_session_refuse(struct pop3d_conn *c, enum pop3d_reply r);
/* TLS is up: a refusal that waited for it is sent.  1 if it was. */
int pop3d_session_secured(struct pop3d_conn *c);
/* Bytes from the client. */
void pop3d_session_input(struct pop3d_conn *c, const char *p, size_t n);
/* Handle buffered lines until one must wait (pipelining in order). */
void pop3d_session_run(struct pop3d_conn *c);
/* Send a table reply. */
void pop3d_reply(struct pop3d_conn *c, enum pop3d_reply r);
/* An error reply: counted; past the limit the connection is closed. */
void pop3d_reply_err(struct pop3d_conn *c, enum pop3d_reply r);
/* A command finished asynchronously: take the next lines. */
void pop3d_session_resume(struct pop3d_conn *c);
/* Close after what is queued (state CLOSED; no UPDATE). */
void pop3d_session_close(struct pop3d_conn *c);
/* The connection is going away: log, release the mailbox. */
void pop3d_session_end(struct pop3d_conn *c, const char *why);
/* Free c if nothing of it is in flight any more. */
void pop3d_conn_release(struct pop3d_conn *c);

/* ---- pop3d_trans.c: TRANSACTION commands, UPDATE, RETR/TOP ---- */
/* One command in the TRANSACTION state. */
void pop3d_trans_cmd(struct pop3d_conn *c, const struct pop3d_cmd *cmd);
/* Output drained below the low mark: continue a RETR. */
void pop3d_trans_drain(struct pop3d_conn *c);
/* CAPA (any state). */
void pop3d_capa(struct pop3d_conn *c);
#endif
