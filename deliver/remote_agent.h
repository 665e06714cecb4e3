/* remote_agent: mta-remote's link to the queue manager over
 * $state_dir/run/agent.sock (docs/delivery-protocol.md): connect (again
 * after REMOTE_RECONNECT_MS when absent or broken), HELLO, JOB records
 * with their queue file descriptors (SCM_RIGHTS, received with recvmsg on
 * the ring), RCPT and DONE records back.  When the link breaks every job
 * in flight is dropped: the queue manager counts them deferred. */
#ifndef DELIVER_REMOTE_AGENT_H
#define DELIVER_REMOTE_AGENT_H
#include <stdint.h>

#include "deliver/remote.h"

#include "lib/fds.h"

#ifndef MTA_AGENT_SOCK
#define MTA_AGENT_SOCK "agent.sock"
#endif

/* Set up (not connected yet: the tick connects). */
void remote_agent_init(struct remote *rm);
/* Connect when due. */
void remote_agent_tick(struct remote *rm, uint64_t now);
/* Records were appended to rm->agent.out: send them (before sleeping). */
void remote_agent_flush(struct remote *rm);
/* SIGTERM: take no more jobs (results still go out). */
void remote_agent_stop_reading(struct remote *rm);
/* 1 when nothing is waiting to be sent (or the link is down). */
int remote_agent_drained(const struct remote *rm);
/* Decode and act on the records in rm->agent.in (exposed for tests). */
int remote_agent_input(struct remote *rm);
/* Close everything at exit. */
void remote_agent_exit(struct remote *rm);
#endif
