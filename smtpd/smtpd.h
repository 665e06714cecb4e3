/* smtpd.h: the state of one SMTP session and its mail transaction, and the
 * two narrow interfaces the session talks through: the I/O layer below it
 * (smtpd_io on the ring, or the transcript tests' in-memory one) and the
 * queue sink after it (smtpd_qclient, or the tests' fake writer).  The
 * state machine never sees a socket or an IPC record. */
#ifndef SMTPD_H
#define SMTPD_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "smtpd/smtpd_bdat.h"
#include "smtpd/smtpd_cmd.h"
#include "smtpd/smtpd_data.h"

#define SMTPD_IP_MAX 48		/* INET6_ADDRSTRLEN plus slack */

/* Below the session: how replies leave and input is throttled. */
struct smtpd_io_ops {
	/* Queue reply bytes; they leave in one batch per loop turn. */
	void (*write)(void *ctx, const char *p, size_t n);
	/* Flush what is queued, then close the connection. */
	void (*close)(void *ctx);
	/* on=1: stop delivering input; on=0: deliver again. */
	void (*pause)(void *ctx, int on);
};

/* The writer's verdict on a committed message (or the lost connection). */
enum smtpd_qresult {
	SMTPD_Q_QUEUED = 1,	/* text: the queue ID */
	SMTPD_Q_TEMPFAIL,	/* text: the writer's reason */
	SMTPD_Q_REJECT,
	SMTPD_Q_LOST,		/* writer connection lost: 451 4.3.0 */
};

struct smtpd_qtxn;
typedef void (*smtpd_qdone_fn)(struct smtpd_qtxn *t, int result,
    const char *text, size_t len);
typedef void (*smtpd_qwake_fn)(struct smtpd_qtxn *t);

/* One transaction as the sink sees it; embedded in struct smtpd_txn. */
struct smtpd_qtxn {
	uint64_t id;		/* 0: not open at the sink */
	int committed;
	int waiting;		/* on the sink's congestion list */
	smtpd_qdone_fn done;	/* verdict, or LOST at any time while open */
	smtpd_qwake_fn wake;	/* congestion is over */
	struct smtpd_qtxn *wait_next;
};

/* The envelope handed to the sink when content starts. */
struct smtpd_env {
	const char *client;	/* IP text */
	const char *helo;
	const char *sender;	/* "" for <> */
	char *const *rcpt;
	size_t nrcpt;
	const char *body;	/* "7BIT" or "8BITMIME" */
	int smtputf8;
	int has_size;
	uint64_t size;		/* SIZE= declared */
};

/* After the session: where message content goes.  The sink never calls
 * t->done or t->wake from inside one of these calls (only from its own
 * event callbacks), so the session is never re-entered. */
struct smtpd_sink_ops {
	/* 1 if a transaction could start now (writer connected). */
	int (*ready)(void *ctx);
	/* Open t with env; 0, or -errno (writer unavailable). */
	int (*begin)(void *ctx, struct smtpd_qtxn *t,
	    const struct smtpd_env *e);
	/* Content bytes, in order. */
	void (*data)(void *ctx, struct smtpd_qtxn *t, const char *p, size_t n);
	/* End of content: t->done gets the verdict later. */
	void (*commit)(void *ctx, struct smtpd_qtxn *t);
	/* Abort (before commit) or forget (after): no callback follows. */
	void (*cancel)(void *ctx, struct smtpd_qtxn *t);
	/* 1 if the sink is backed up: t->wake is called when it drains. */
	int (*congested)(void *ctx, struct smtpd_qtxn *t);
};

enum smtpd_state {
	SMTPD_S_CMD,		/* reading command lines */
	SMTPD_S_DATA,		/* DATA content until <CRLF>.<CRLF> */
	SMTPD_S_BDAT,		/* BDAT chunk octets */
	SMTPD_S_QUEUE,		/* waiting for the writer's verdict */
	SMTPD_S_CLOSED,		/* QUIT, 421 or EOF: input is ignored */
};

enum smtpd_mode { SMTPD_M_NONE, SMTPD_M_DATA, SMTPD_M_BDAT };

struct smtpd_session;
struct smtpd_local;

/* A mail transaction: from MAIL to the end of content (or RSET). */
struct smtpd_txn {
	struct smtpd_session *s;
	char *sender;
	char **rcpt;
	size_t nrcpt, rcpt_cap;
	size_t env_bytes;	/* envelope record size so far */
	unsigned rcpt_tried;	/* RCPT commands, refused ones included */
	uint64_t declared;	/* SIZE= */
	int has_size;
	enum smtpd_body body;
	int smtputf8;
	enum smtpd_mode mode;
	int fail;		/* sticky reply id for the end of content */
	struct smtpd_data dec;
	struct buf dbuf;	/* decoded content not yet given to the sink */
	uint64_t sent;		/* content bytes given to the sink */
	struct smtpd_qtxn q;
};

struct smtpd_session {
	const struct conf *conf;
	const struct smtpd_io_ops *io;
	void *io_ctx;
	const struct smtpd_sink_ops *sink;
	void *sink_ctx;
	struct smtpd_local *local;	/* NULL: no local recipient check */
	enum smtpd_state state;
	enum smtpd_verb verb;	/* command being answered (for logs) */
	int trusted;		/* client in mynetworks */
	int esmtp;		/* EHLO (not HELO) */
	int discarding;		/* inside an overlong line */
	int draining;		/* close after the current transaction */
	int blocked;		/* waiting for the sink to drain */
	int paused;		/* input paused (blocked or backlog) */
	int rearm;		/* start a new wait deadline after this input */
	int eof;		/* the client sent all it will send */
	int bdat_err;		/* reply id for a refused chunk being skipped */
	unsigned errors, commands;
	uint64_t deadline;	/* CLOCK_MONOTONIC ms; 0: none */
	char *helo;
	struct smtpd_txn *txn;
	struct smtpd_bdat bdat;
	struct buf in;		/* received, not yet consumed */
	char client_ip[SMTPD_IP_MAX];
	unsigned client_port;
};
#endif
