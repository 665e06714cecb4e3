/* remote_session: one outbound SMTP connection and the job it is working
 * on.  A session resolves its destination, tries the targets in order
 * (connect, greeting, EHLO/HELO, STARTTLS as the next hop's TLS policy
 * says: none, may, must, verify), runs one
 * transaction per job (remote_txn.c), then waits idle in its destination
 * for the next job until smtp_connection_idle, the reuse limit or the
 * server ends it.  All waits have deadlines (remote_session_tick). */
#ifndef DELIVER_REMOTE_SESSION_H
#define DELIVER_REMOTE_SESSION_H
#include <stddef.h>
#include <stdint.h>

#include "deliver/remote.h"
#include "deliver/remote_conn.h"
#include "deliver/remote_ehlo.h"
#include "deliver/remote_job.h"
#include "deliver/remote_reply.h"
#include "lib/tls_policy.h"

struct dns_result;

enum remote_sstate {
	RS_RESOLVE,		/* waiting for DNS */
	RS_CONNECT,		/* TCP connect in flight */
	RS_GREETING,
	RS_EHLO,
	RS_HELO,
	RS_STARTTLS,		/* waiting for 220 */
	RS_TLS,			/* handshake */
	RS_TXN,			/* RSET/MAIL/RCPT/DATA replies expected */
	RS_DATA,		/* sending the content */
	RS_DOT,			/* waiting for the final reply */
	RS_IDLE,		/* parked in the destination */
	RS_QUIT,		/* QUIT sent */
	RS_CLOSING,		/* waiting for the connection to close */
};

/* What to do once the connection has closed. */
enum remote_after {
	RA_FREE,		/* the session ends */
	RA_NEXT_TARGET,		/* try the next address */
	RA_PLAIN,		/* same address again, without STARTTLS */
};

struct remote_session {
	struct remote *rm;
	struct remote_dest *dest;
	struct remote_job *job;		/* NULL when idle */
	struct remote_conn conn;
	struct remote_rparse rp;
	struct remote_ehlo ehlo;
	enum remote_sstate state;
	enum remote_after after;
	uint64_t deadline;		/* ms, 0: none */
	struct dns_result *targets;	/* while connecting */
	size_t tix;			/* target being tried */
	char relay[REMOTE_RELAY_MAX];	/* "host[addr]:port" or "none" */
	char sni[256];			/* the name "verify" checks too */
	char last_err[REMOTE_TEXT_MAX + 1];
	const char *last_dsn;		/* of last_err; NULL: 4.4.1 */
	enum tls_policy policy;		/* the next hop's, effective */
	char tls_field[AGENT_TLS_MAX];	/* "VERSION/CIPHER" under TLS */
	unsigned conn_open : 1;		/* conn needs closing */
	unsigned tls_on : 1, no_tls : 1, reused : 1, doomed : 1, aborted : 1,
	    logged : 1, parked : 1;
	unsigned msgs;			/* transactions on this connection */
	/* The transaction (remote_txn.c). */
	size_t *txn;			/* indices into job->rcpts */
	size_t ntxn;
	size_t step_sent, step_reply, nsteps;
	size_t accepted;
	size_t data_off;
	unsigned mail_ok : 1, mail_failed : 1, rset : 1, pipelining : 1, discard : 1;
	struct remote_session *next, *prev;	/* rm->sessions */
	struct remote_session *inext, *iprev;	/* dest idle list */
};

/* A new session for job j to destination d (resolve, connect, ...). */
void remote_session_start(struct remote *rm, struct remote_dest *d,
    struct remote_job *j);
/* An idle session takes job j. */
void remote_session_reuse(struct remote_session *s, struct remote_job *j);
/* Forget the job (its results are not wanted) and close.  Like
 * remote_session_close and remote_session_quit it may free s at once. */
void remote_session_abort(struct remote_session *s);
/* Politely end an idle session (QUIT). */
void remote_session_quit(struct remote_session *s);
/* At exit, with the ring gone: free every session without callbacks. */
void remote_session_free_all(struct remote *rm);
/* The deadline check, from the tick. */
void remote_session_tick(struct remote_session *s, uint64_t now);

/* Shared with remote_txn.c. */
void remote_session_write(struct remote_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void remote_session_close(struct remote_session *s, enum remote_after a);
void remote_session_job_done(struct remote_session *s);
void remote_session_lost(struct remote_session *s, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void remote_session_set_deadline(struct remote_session *s, unsigned ms);
/* The transaction is over: answer the job, park or end the connection. */
void remote_session_txn_end(struct remote_session *s);

/* remote_txn.c: the mail transaction for s->job on a ready session. */
void remote_txn_start(struct remote_session *s);
void remote_txn_reply(struct remote_session *s, const struct remote_reply *r);
void remote_txn_writable(struct remote_session *s);
/* The phrase for "lost connection ... while X" in the current state. */
const char *remote_txn_doing(const struct remote_session *s);
void remote_txn_free(struct remote_session *s);
#endif
