/* remote_job: the remote agent's job -- the shared agent_job (records,
 * the mapped queue file, results: agent_job.h) plus what the SMTP client
 * keeps per job: the parsed NEXTHOP and the session working on it.  And
 * the SMTPUTF8 test of a message. */
#ifndef DELIVER_REMOTE_JOB_H
#define DELIVER_REMOTE_JOB_H
#include <stddef.h>

#include "deliver/agent_job.h"
#include "deliver/remote_hop.h"
#include "deliver/remote_result.h"

#define REMOTE_RELAY_MAX AGENT_RELAY_MAX	/* "host[addr]:port" */

struct remote_session;

struct remote_job {
	struct agent_job a;		/* first: agent_link allocates it */
	struct remote_hop hop;
	struct remote_session *session;	/* working on it, or NULL */
	unsigned retried : 1;		/* on a fresh connection already */
	unsigned fresh : 1;		/* must not take a cached connection */
};

/* The NEXTHOP check of the remote agent (agent_hop_fn): mx:, host:,
 * addr: (remote_hop.h), parsed into the remote_job. */
int remote_job_hop(struct agent_job *j, const char *v, size_t n,
    const char **why);
/* agent_job_parse with the remote NEXTHOP check. */
int remote_job_parse(struct remote_job *j, const struct ipc_msg *m,
    size_t rcpt_max);
/* 1 if s[0..n) needs SMTPUTF8: any byte >= 0x80. */
int remote_job_is_8bit(const char *s, size_t n);
/* 1 if the message needs SMTPUTF8 to be relayed as it is: the flag was
 * given and the sender, a recipient of the job or a header is not ASCII. */
int remote_job_needs_utf8(const struct remote_job *j);
#endif
