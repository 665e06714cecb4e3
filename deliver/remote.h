/* remote: the mta-remote process -- one io_uring ring carrying the queue
 * manager link (jobs in, results out), the DNS resolver's sockets, and
 * every outbound SMTP session.  This header holds the process-wide state
 * the parts share; each part has its own header and file:
 * agent_link (the qmgr link, shared with mta-local), remote_run
 * (dispatch, timers, shutdown), remote_dest (destinations and cached
 * connections), remote_session and remote_txn (the SMTP client),
 * remote_conn and remote_tls (socket I/O). */
#ifndef DELIVER_REMOTE_H
#define DELIVER_REMOTE_H
#include <stddef.h>
#include <stdint.h>

#include "deliver/agent_link.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/ev.h"

#define REMOTE_DEST_BUCKETS 4096	/* destination hash (power of two) */
#define REMOTE_SLOTS_MAX 2000		/* jobs announced to the qmgr */
#define REMOTE_TICK_MS 200		/* deadline granularity */
#define REMOTE_STOP_GRACE_MS 2000	/* in-flight jobs may finish */
#define REMOTE_STOP_HARD_MS 4000	/* then exit whatever is left */

struct remote_conn;
struct remote_session;
struct remote_dest;
struct remote_job;
struct dns_resolver;

/* Deadlines of the SMTP client, milliseconds (RFC 5321 4.5.3.2). */
struct remote_timeouts {
	unsigned connect;	/* smtp_connect_timeout */
	unsigned command;	/* greeting, EHLO, STARTTLS, MAIL, RCPT, RSET */
	unsigned data_init;	/* DATA -> 354 */
	unsigned data_block;	/* each piece of content sent */
	unsigned dot;		/* final "." -> reply */
	unsigned quit;		/* QUIT -> 221 */
};

struct remote {
	const struct conf *conf;
	struct ev_loop loop;
	struct ev_bufring br;
	struct dns_resolver *dns;
	void *tls_ctx;			/* SSL_CTX, NULL: no STARTTLS */
	char helo[256];
	struct remote_timeouts t;
	unsigned slots;
	struct agent_link link;		/* the queue manager, jobs in flight */
	struct remote_conn *dirty;	/* connections with output queued */
	struct remote_session *sessions;	/* every session */
	size_t nsessions;
	struct remote_dest **dests;	/* REMOTE_DEST_BUCKETS chains */
	struct buf scratch;		/* commands and content being built */
	struct buf plain;		/* TLS: decrypted input */
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
	struct ev_signal sig;
	unsigned stopping : 1, stop_jobs_aborted : 1;
	uint64_t stop_at;		/* ms when SIGTERM came */
};
#endif
