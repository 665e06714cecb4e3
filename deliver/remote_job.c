/* remote_job: the remote agent's NEXTHOP check and the SMTPUTF8 test;
 * see remote_job.h.  Everything else about a job is agent_job.c. */
#include "deliver/remote_job.h"
#include "lib/mem.h"

#include <string.h>

int remote_job_hop(struct agent_job *j, const char *v, size_t n,
    const char **why)
{
	return remote_hop_parse(v, n, &container_of(j, struct remote_job,
	    a)->hop, why);
}

int remote_job_parse(struct remote_job *j, const struct ipc_msg *m,
    size_t rcpt_max)
{
	return agent_job_parse(&j->a, m, rcpt_max, remote_job_hop);
}

int remote_job_is_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

int remote_job_needs_utf8(const struct remote_job *j)
{
	const char *c = j->a.msg.content, *end;
	size_t hdr;

	if (!j->a.msg.smtputf8)
		return 0;
	if (remote_job_is_8bit(j->a.msg.sender, strlen(j->a.msg.sender)))
		return 1;
	for (size_t i = 0; i < j->a.nrcpt; i++)
		if (remote_job_is_8bit(j->a.rcpts[i].addr,
		    strlen(j->a.rcpts[i].addr)))
			return 1;
	end = memmem(c, j->a.msg.content_len, "\r\n\r\n", 4);
	hdr = end ? (size_t)(end - c) : j->a.msg.content_len;
	return remote_job_is_8bit(c, hdr);
}
