/* agent_job: one IPC_AG_JOB from the queue manager -- its attributes, the
 * mapped queue file, a result per recipient -- and the RCPT/DONE records
 * that answer it (docs/delivery-protocol.md), for every delivery agent.
 * The queue manager is more privileged but still a peer: every attribute,
 * index and the file itself are validated, and a job that fails
 * validation is answered "deferred" for every index it named. */
#ifndef DELIVER_AGENT_JOB_H
#define DELIVER_AGENT_JOB_H
#include <stddef.h>
#include <stdint.h>

#include "deliver/agent.h"
#include "lib/buf.h"
#include "lib/ipc.h"
#include "lib/qid.h"
#include "queue/queue_file.h"

#define AGENT_JOB_RCPT_MAX 100000	/* RCPT_IDX per job, hard cap */
#define AGENT_RELAY_MAX 320		/* "host[addr]:port" */
#define AGENT_HOP_MAX 300		/* NEXTHOP bytes */

struct agent_rcpt {
	size_t idx;			/* index into the queue file */
	const char *addr;		/* the file's address ("" if unknown) */
	unsigned done : 1;		/* has its result */
	unsigned accepted : 1;		/* the owner's mark (remote: RCPT 2xx) */
	enum agent_class cls;
	char dsn[AGENT_DSN_MAX];
	char *text;			/* allocated */
	char *relay;			/* allocated */
};

/* Owners embed it first in their own job struct (agent_link allocates
 * agent_ops.job_size bytes). */
struct agent_job {
	uint64_t id;			/* the queue manager's job id */
	char qid[QID_LEN + 1];		/* "" until known */
	char nexthop[AGENT_HOP_MAX + 1];
	char tls[AGENT_TLS_MAX];	/* the owner's: status lines' tls= */
	int fd;				/* the queue file, -1 when closed */
	void *map;			/* the file's bytes: read or mapped */
	size_t maplen;
	int mapped;			/* map is an mmap, not a malloc */
	struct queue_msg msg;
	int decoded;
	struct agent_rcpt *rcpts;
	size_t nrcpt, nleft;		/* recipients, those without a result */
	const char *bad;		/* why the job is malformed, or NULL */
	struct agent_job *next, *prev;	/* the link's jobs in flight */
};

/* The owner's check of NEXTHOP v[0..n) (stored in j->nexthop already):
 * 0, or -EINVAL with *why. */
typedef int agent_hop_fn(struct agent_job *j, const char *v, size_t n,
    const char **why);

/* Set up j from a JOB record: id, QID, NEXTHOP (checked by hop), RCPT_IDX
 * (at most rcpt_max).  Returns 0, or -EINVAL with j->bad set (the indices
 * that parsed are kept so they can be answered). */
int agent_job_parse(struct agent_job *j, const struct ipc_msg *m,
    size_t rcpt_max, agent_hop_fn *hop);
/* Take the queue file fd (owned from now on: closed by agent_job_free),
 * map and decode it, and check every index: in range, once, pending.
 * 0, or -EINVAL with j->bad set. */
int agent_job_load(struct agent_job *j, int fd);
/* Check the decoded file against the indices (the pure half of load). */
int agent_job_check(struct agent_job *j);
/* Give recipient i its result (once; later calls are ignored) and log its
 * status line.  text is cut to AGENT_TEXT_MAX. */
void agent_job_set(struct agent_job *j, size_t i, enum agent_class c,
    const char *dsn, const char *relay, const char *text);
/* The same result for every recipient that has none yet. */
void agent_job_set_rest(struct agent_job *j, enum agent_class c,
    const char *dsn, const char *relay, const char *text);
/* Append the job's RCPT records and DONE to out; a recipient without a
 * result is answered deferred (4.3.0). */
void agent_job_encode(struct agent_job *j, struct buf *out);
/* Unmap, close the fd, free everything (not j itself). */
void agent_job_free(struct agent_job *j);
#endif
