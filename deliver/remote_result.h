/* remote_result: what an SMTP reply means for a recipient -- the table of
 * reply codes to result classes (agent.h) and status codes, and the remote
 * agent's own status codes.  The status line itself is agent_log_status. */
#ifndef DELIVER_REMOTE_RESULT_H
#define DELIVER_REMOTE_RESULT_H
#include "deliver/agent.h"
#include "deliver/remote_reply.h"

/* Local reasons (our own status codes, RFC 3463). */
#define REMOTE_DSN_CONNECT "4.4.1"	/* no answer / refused everywhere */
#define REMOTE_DSN_LOST "4.4.2"		/* connection lost or timed out */
#define REMOTE_DSN_DNS_TEMP "4.4.3"	/* resolver failed */
#define REMOTE_DSN_PROTO "4.5.0"	/* remote protocol violation */
#define REMOTE_DSN_NOTLS "4.7.4"	/* TLS required, not offered */
#define REMOTE_DSN_TLS "4.7.5"		/* TLS required, handshake or
					 * certificate failed */
#define REMOTE_DSN_AGENT AGENT_DSN_FAILED	/* our own trouble */
#define REMOTE_DSN_NOTFOUND "5.1.2"	/* no such domain */
#define REMOTE_DSN_NULLMX "5.1.10"	/* RFC 7505 */
#define REMOTE_DSN_TOOBIG "5.3.4"	/* over the server's SIZE */
#define REMOTE_DSN_UTF8 "5.6.7"		/* needs SMTPUTF8, server lacks it */

/* 2xx sent, 5xx bounced, anything else (4xx, an unexpected 3xx) deferred. */
enum agent_class remote_class_of(int code);
/* The status code for a reply: its own enhanced code when it has one of
 * the right class, else derived (2.0.0, 4.0.0, 5.0.0). */
void remote_dsn_of(const struct remote_reply *r, char out[REMOTE_DSN_MAX]);
#endif
