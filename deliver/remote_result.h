/* remote_result: what a reply means for a recipient -- the table of the
 * remote agent's result classes and status codes -- and the one log line
 * per recipient per attempt that INTERFACE.md fixes:
 * "QID: to=<rcpt>, relay=host[addr]:port, delay=SECS, dsn=X.Y.Z,
 * status=sent|deferred|bounced (text)". */
#ifndef DELIVER_REMOTE_RESULT_H
#define DELIVER_REMOTE_RESULT_H
#include <stdint.h>

#include "deliver/remote_reply.h"

enum remote_class {
	REMOTE_SENT = 0,
	REMOTE_DEFERRED,
	REMOTE_BOUNCED,
};

/* Local reasons (our own status codes, RFC 3463). */
#define REMOTE_DSN_CONNECT "4.4.1"	/* no answer / refused everywhere */
#define REMOTE_DSN_LOST "4.4.2"		/* connection lost or timed out */
#define REMOTE_DSN_DNS_TEMP "4.4.3"	/* resolver failed */
#define REMOTE_DSN_PROTO "4.5.0"	/* remote protocol violation */
#define REMOTE_DSN_AGENT "4.3.0"	/* our own trouble */
#define REMOTE_DSN_NOTFOUND "5.1.2"	/* no such domain */
#define REMOTE_DSN_NULLMX "5.1.10"	/* RFC 7505 */
#define REMOTE_DSN_TOOBIG "5.3.4"	/* over the server's SIZE */
#define REMOTE_DSN_UTF8 "5.6.7"		/* needs SMTPUTF8, server lacks it */

/* "sent", "deferred" or "bounced". */
const char *remote_class_name(enum remote_class c);
/* 2xx sent, 5xx bounced, anything else (4xx, an unexpected 3xx) deferred. */
enum remote_class remote_class_of(int code);
/* The status code for a reply: its own enhanced code when it has one of
 * the right class, else derived (2.0.0, 4.0.0, 5.0.0). */
void remote_dsn_of(const struct remote_reply *r, char out[REMOTE_DSN_MAX]);
/* Seconds since arrival (unix microseconds) at now_us, for delay=. */
double remote_delay(uint64_t arrival_us, uint64_t now_us);
/* Log the status line of one recipient. */
void remote_log_status(const char *qid, const char *rcpt, const char *relay,
    double delay, const char *dsn, enum remote_class c, const char *text);
#endif
