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
	/* TLS below the session from the next byte received (STARTTLS;
	 * what is already queued leaves in the clear).  0 or -1; NULL when
	 * the connection cannot do TLS. */
	int (*starttls)(void *ctx);
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

/* The password check behind AUTH (smtpd_authck: helper threads, the
 * failure delay and the per-address failure table; or the transcript
 * tests' fake).  Like the sink, it never calls q->done from inside one of
 * these calls. */
enum smtpd_auth_result {
	SMTPD_AUTH_OK = 1,
	SMTPD_AUTH_FAIL,	/* after the failure delay; counted */
	SMTPD_AUTH_TEMP,	/* users_file not loaded: 454 */
};

struct smtpd_authq;
typedef void (*smtpd_authq_fn)(struct smtpd_authq *q, int result);

/* One check in flight; embedded in the session's struct smtpd_auth. */
struct smtpd_authq {
	void *job;		/* the checker's; NULL: none in flight */
	smtpd_authq_fn done;
};

struct smtpd_authck_ops {
	/* 1 if AUTH from client (IP text) is refused: too many failures. */
	int (*blocked)(void *ctx, const char *client);
	/* Check user's password (passlen bytes, copied); q->done follows. */
	void (*check)(void *ctx, struct smtpd_authq *q, const char *client,
	    const char *user, const char *pass, size_t passlen);
	/* Forget q's check: no callback follows. */
	void (*cancel)(void *ctx, struct smtpd_authq *q);
};

enum smtpd_state {
	SMTPD_S_CMD,		/* reading command lines */
	SMTPD_S_DATA,		/* DATA content until <CRLF>.<CRLF> */
	SMTPD_S_BDAT,		/* BDAT chunk octets */
	SMTPD_S_QUEUE,		/* waiting for the writer's verdict */
	SMTPD_S_CLOSED,		/* QUIT, 421 or EOF: input is ignored */
};

enum smtpd_mode { SMTPD_M_NONE, SMTPD_M_DATA, SMTPD_M_BDAT };

/* Which listener the client came in on (INTERFACE.md's three ports). */
enum smtpd_port {
	SMTPD_PORT_SMTP,	/* smtp_listen: relay/MX, STARTTLS offered */
	SMTPD_PORT_SUBMISSION,	/* submission_listen: STARTTLS, then AUTH */
	SMTPD_PORT_SMTPS,	/* smtps_listen: implicit TLS, then AUTH */
};

struct smtpd_session;
struct smtpd_local;
struct smtpd_auth;

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
	const struct smtpd_authck_ops *authck;	/* NULL: no AUTH */
	void *authck_ctx;
	struct smtpd_auth *auth;	/* an AUTH exchange in progress */
	char *auth_user;	/* the authenticated identity (lower case) */
	const char *auth_method;	/* its SASL mechanism, for logs */
	enum smtpd_state state;
	enum smtpd_verb verb;	/* command being answered (for logs) */
	int trusted;		/* client in mynetworks */
	int loopback;		/* client on 127/8 or ::1 (netio_is_loopback) */
	int refused;		/* over a connection limit: no session */
	enum smtpd_port port;	/* the listener it came in on */
	int tls;		/* TLS is up (after STARTTLS, or smtps) */
	int tls_restart;	/* STARTTLS answered: drop pipelined input */
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
