/* smtpd_proto: the SMTP session state machine (RFC 5321, PIPELINING,
 * CHUNKING).  Input bytes go in, replies go out through s->io, message
 * content goes to s->sink; it keeps no socket and does no I/O of its own,
 * so the transcript tests drive exactly the code that runs in production.
 * Pipelined commands are processed in order, every complete one per call. */
#ifndef SMTPD_PROTO_H
#define SMTPD_PROTO_H
#include <stddef.h>
#include <stdint.h>

#include "smtpd/smtpd.h"

/* Set up a session (no output yet); the caller fills io/sink/client. */
void smtpd_proto_init(struct smtpd_session *s, const struct conf *c);
/* Log the connection and send the greeting. */
void smtpd_proto_start(struct smtpd_session *s);
/* Over a connection limit: reply id (421, arg the hostname) instead of
 * the greeting, and close; nothing is logged (the caller does). */
void smtpd_proto_refuse(struct smtpd_session *s, int id);
/* Bytes from the client. */
void smtpd_proto_input(struct smtpd_session *s, const char *p, size_t n);
/* Continue with buffered input (after a verdict or the end of congestion). */
void smtpd_proto_resume(struct smtpd_session *s);
/* The client closed its side (hard: the connection failed).  What it
 * sent before is still answered, then the session closes. */
void smtpd_proto_eof(struct smtpd_session *s, int hard);
/* s->deadline has passed: 421 4.4.2 and close. */
void smtpd_proto_timeout(struct smtpd_session *s);
/* Server stopping: close now if idle (or force), else after the
 * transaction in progress. */
void smtpd_proto_shutdown(struct smtpd_session *s, int force);
/* Log the end of the session and free its memory (I/O all finished). */
void smtpd_proto_free(struct smtpd_session *s);

/* For smtpd_txn: send reply id (arg for '$'), counting errors. */
void smtpd_proto_reply(struct smtpd_session *s, int id, const char *arg);
/* For smtpd_txn: flush and close; no more input is processed. */
void smtpd_proto_close(struct smtpd_session *s);
/* Monotonic milliseconds (coarse clock), for deadlines. */
uint64_t smtpd_now_ms(void);
#endif
