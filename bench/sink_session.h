/* sink_session: one SMTP server session of mta-sink, as a pure state
 * machine over input bytes.  It reuses smtpd's parsers (command lines,
 * the DATA/BDAT decoder), applies the fault decisions, counts, and talks
 * to its connection only through ops, so tests can drive it with strings.
 * All complete commands in the input are answered before it returns; the
 * owner sends what was written in one batch. */
#ifndef SINK_SESSION_H
#define SINK_SESSION_H
#include <stddef.h>
#include <stdint.h>

#include "bench/sink_fault.h"
#include "bench/sink_msgid.h"
#include "bench/sink_opts.h"
#include "bench/sink_stats.h"
#include "lib/buf.h"
#include "smtpd/smtpd_bdat.h"
#include "smtpd/smtpd_data.h"

#define SINK_LINE_MAX 4096	/* a command line, CRLF included */

struct sink_session_ops {
	void (*write)(void *ctx, const char *p, size_t n);
	void (*close)(void *ctx);	/* flush the replies, then close */
	void (*drop)(void *ctx);	/* close now, nothing more is sent */
	/* End of a message when replies are asynchronous (--delay-ms,
	 * --store): send reply[0..n) later, store msg if it is not NULL
	 * (ownership moves to the callee), then sink_session_resume.
	 * Returns 1 if the reply was written at once (no resume follows),
	 * 0 if sink_session_resume will be called later, never from
	 * inside finish. */
	int (*finish)(void *ctx, const char *reply, size_t n,
	    struct buf *msg);
};

/* What all sessions share. */
struct sink_env {
	const struct sink_opts *opts;
	struct sink_stats *stats;
	struct sink_fault *fault;
	int async;		/* end-of-data replies go through finish */
};

enum sink_state {
	SINK_S_CMD = 0,
	SINK_S_DATA,
	SINK_S_BDAT,
	SINK_S_WAIT,		/* finish is in progress */
	SINK_S_CLOSED,
};

struct sink_session {
	const struct sink_session_ops *ops;
	void *ctx;
	struct sink_env *env;
	enum sink_state state;
	struct buf in;		/* input not yet consumed */
	int esmtp, has_mail, eof;
	unsigned nrcpt;
	struct smtpd_data d;
	struct smtpd_bdat b;
	int bdat_active;	/* a BDAT message is being decoded */
	int bdat_skip;		/* the chunk is refused: reply to send */
	struct buf msg;		/* decoded content (headers only unless
				 * storing) */
	int hdr_done;
	size_t midlen;
	char mid[SINK_MSGID_MAX + 1];
};

/* Set up a session; nothing is sent yet. */
void sink_session_init(struct sink_session *s, struct sink_env *env,
    const struct sink_session_ops *ops, void *ctx);
/* Send the greeting. */
void sink_session_start(struct sink_session *s);
/* Bytes from the client. */
void sink_session_input(struct sink_session *s, const char *p, size_t n);
/* The client closed its side (or the connection failed). */
void sink_session_eof(struct sink_session *s);
/* The asynchronous end-of-message reply has been written: go on. */
void sink_session_resume(struct sink_session *s);
/* Release the session's buffers. */
void sink_session_free(struct sink_session *s);
#endif
