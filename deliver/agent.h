/* agent: what the delivery agents (mta-remote, mta-local) share with each
 * other -- the queue manager link (agent_link.c), the jobs it brings
 * (agent_job.c) and the per-recipient result classes and status line
 * (agent_result.c).  docs/delivery-protocol.md is the protocol; INTERFACE.md
 * fixes the status line:
 * "QID: to=<rcpt>, relay=..., delay=SECS, dsn=X.Y.Z, status=CLASS (text)",
 * with ", tls=VERSION/CIPHER" before ", status=" when the delivery ran
 * over TLS (mta-remote(8)). */
#ifndef DELIVER_AGENT_H
#define DELIVER_AGENT_H
#include <stddef.h>
#include <stdint.h>

#define AGENT_TEXT_MAX 1000		/* bytes of a result text */
#define AGENT_DSN_MAX 16		/* "X.YYY.ZZZ" and NUL, with room */
#define AGENT_DSN_FAILED "4.3.0"	/* the agent's own trouble */
#define AGENT_RECONNECT_MS 1000		/* queue manager link back-off */
#define AGENT_FDQ_MAX 4096		/* received fds not yet claimed */
#define AGENT_TLS_MAX 96		/* "TLSv1.3/TLS_AES_256_GCM_SHA384" */

enum agent_class {
	AGENT_SENT = 0,
	AGENT_DEFERRED,
	AGENT_BOUNCED,
};

/* "sent", "deferred" or "bounced". */
const char *agent_class_name(enum agent_class c);
/* Seconds since arrival (unix microseconds) at now_us, for delay=. */
double agent_delay(uint64_t arrival_us, uint64_t now_us);
/* Log the status line of one recipient; tls is "" (or NULL) for none. */
void agent_log_status(const char *qid, const char *rcpt, const char *relay,
    double delay, const char *dsn, const char *tls, enum agent_class c,
    const char *text);
/* Append p[0..n) to text (of capacity AGENT_TEXT_MAX) printable: control
 * and non-ASCII bytes become '?', runs cut at the capacity. */
void agent_text_append(char *text, size_t *len, const char *p, size_t n);
/* Monotonic milliseconds. */
uint64_t agent_now_ms(void);
/* Unix time in microseconds (the queue file's arrival clock). */
uint64_t agent_now_us(void);
#endif
