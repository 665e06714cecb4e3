/* remote: the mta-remote process -- one io_uring ring carrying the queue
 * manager link (jobs in, results out), the DNS resolver's sockets, and
 * every outbound SMTP session.  This header holds the process-wide state
 * the parts share; each part has its own header and file:
 * remote_agent (qmgr link), remote_run (dispatch, timers, shutdown),
 * remote_dest (destinations and cached connections), remote_session and
 * remote_txn (the SMTP client), remote_conn and remote_tls (socket I/O). */
#ifndef DELIVER_REMOTE_H
#define DELIVER_REMOTE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/ev.h"

#define REMOTE_DEST_BUCKETS 4096	/* destination hash (power of two) */
#define REMOTE_SLOTS_MAX 2000		/* jobs announced to the qmgr */
#define REMOTE_TICK_MS 200		/* deadline granularity */
#define REMOTE_STOP_GRACE_MS 2000	/* in-flight jobs may finish */
#define REMOTE_STOP_HARD_MS 4000	/* then exit whatever is left */
#define REMOTE_RECONNECT_MS 1000	/* qmgr link back-off */
#define REMOTE_AGENT_FDQ_MAX 4096	/* received fds not yet claimed */

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

/* The link to the queue manager (remote_agent.c). */
struct remote_agent {
	int fd;				/* -1: not connected */
	int connecting, up;
	uint64_t retry_at;		/* ms: next connect attempt */
	uint64_t warned_at;		/* ms: no "lost" warning before */
	unsigned gen;			/* connection number */
	struct sockaddr_un sun;
	socklen_t sunlen;
	struct ev_op conn_op, recv_op, send_op;
	unsigned conn_busy : 1, recv_busy : 1, send_busy : 1, closing : 1,
	    noread : 1;			/* stopping: take no more jobs */
	struct msghdr mh;
	struct iovec iov;
	char *rbuf;			/* recvmsg target */
	size_t rbuf_len;
	union {
		struct cmsghdr align;
		char b[256];
	} cmsg;
	struct buf in;			/* bytes of records not yet whole */
	uint64_t in_base;		/* stream offset of in.data[0] */
	struct remote_fdq {		/* fds received, not yet claimed */
		uint64_t at;		/* stream offset of their record */
		int fd;
	} *fdq;
	size_t nfdq;
	struct buf out, wire;		/* records to send / in flight */
	size_t wire_off;
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
	struct remote_agent agent;
	struct remote_conn *dirty;	/* connections with output queued */
	struct remote_session *sessions;	/* every session */
	size_t nsessions;
	struct remote_dest **dests;	/* REMOTE_DEST_BUCKETS chains */
	struct remote_job *jobs;	/* in flight */
	size_t njobs;
	struct buf scratch;		/* commands and content being built */
	struct buf plain;		/* TLS: decrypted input */
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
	struct ev_signal sig;
	unsigned stopping : 1, stop_jobs_aborted : 1;
	uint64_t stop_at;		/* ms when SIGTERM came */
};

/* Monotonic milliseconds. */
uint64_t remote_now_ms(void);
#endif
