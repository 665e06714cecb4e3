/* remote_job: one IPC_AG_JOB from the queue manager -- its attributes,
 * the mapped queue file, and a result per recipient -- and the RCPT/DONE
 * records that answer it (docs/delivery-protocol.md).  The queue manager
 * is more privileged but still a peer: every attribute, index and the
 * file itself are validated, and a job that fails validation is answered
 * "deferred" for every index it named (never a crash, never a guess). */
#ifndef DELIVER_REMOTE_JOB_H
#define DELIVER_REMOTE_JOB_H
#include <stddef.h>
#include <stdint.h>

#include "deliver/remote_hop.h"
#include "deliver/remote_result.h"
#include "lib/buf.h"
#include "lib/ipc.h"
#include "lib/qid.h"
#include "queue/queue_file.h"

#define REMOTE_JOB_RCPT_MAX 100000	/* RCPT_IDX per job, hard cap */
#define REMOTE_RELAY_MAX 320		/* "host[addr]:port" */

struct remote_session;

struct remote_rcpt {
	size_t idx;			/* index into the queue file */
	const char *addr;		/* the file's address ("" if unknown) */
	unsigned done : 1;		/* has its result */
	unsigned accepted : 1;		/* RCPT 2xx in this transaction */
	enum remote_class cls;
	char dsn[REMOTE_DSN_MAX];
	char *text;			/* allocated */
	char *relay;			/* allocated */
};

struct remote_job {
	uint64_t id;			/* the queue manager's job id */
	char qid[QID_LEN + 1];		/* "" until known */
	char nexthop[REMOTE_HOP_MAX + 1];
	struct remote_hop hop;
	int fd;				/* the queue file, -1 when closed */
	void *map;
	size_t maplen;
	struct queue_msg msg;
	int decoded;
	struct remote_rcpt *rcpts;
	size_t nrcpt, nleft;		/* recipients, those without a result */
	const char *bad;		/* why the job is malformed, or NULL */
	/* The owner's (remote_run.c). */
	struct remote_job *next, *prev;
	struct remote_session *session;	/* working on it, or NULL */
	unsigned retried : 1;		/* on a fresh connection already */
	unsigned fresh : 1;		/* must not take a cached connection */
	unsigned linked : 1;		/* on the owner's list */
};

/* Set up j from a JOB record: id, QID, NEXTHOP, RCPT_IDX (at most
 * rcpt_max).  Returns 0, or -EINVAL with j->bad set (the indices that
 * parsed are kept so they can be answered). */
int remote_job_parse(struct remote_job *j, const struct ipc_msg *m,
    size_t rcpt_max);
/* Take the queue file fd (owned from now on: closed by remote_job_free),
 * map and decode it, and check every index: in range, once, pending.
 * 0, or -EINVAL with j->bad set. */
int remote_job_load(struct remote_job *j, int fd);
/* Check the decoded file against the indices (the pure half of load). */
int remote_job_check(struct remote_job *j);
/* Give recipient i its result (once; later calls are ignored) and log its
 * status line.  text is cut to REMOTE_TEXT_MAX. */
void remote_job_set(struct remote_job *j, size_t i, enum remote_class c,
    const char *dsn, const char *relay, const char *text);
/* The same result for every recipient that has none yet. */
void remote_job_set_rest(struct remote_job *j, enum remote_class c,
    const char *dsn, const char *relay, const char *text);
/* Append the job's RCPT records and DONE to out; a recipient without a
 * result is answered deferred (4.3.0). */
void remote_job_encode(struct remote_job *j, struct buf *out);
/* Unmap, close the fd, free everything (not j itself). */
void remote_job_free(struct remote_job *j);
/* 1 if s[0..n) needs SMTPUTF8: any byte >= 0x80. */
int remote_job_is_8bit(const char *s, size_t n);
/* 1 if the message needs SMTPUTF8 to be relayed as it is: the flag was
 * given and the sender, a recipient of the job or a header is not ASCII. */
int remote_job_needs_utf8(const struct remote_job *j);
#endif
