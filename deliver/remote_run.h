/* remote_run: the mta-remote process around its sessions -- set-up of the
 * ring, resolver, TLS context and signals; jobs from the queue manager
 * dispatched to a cached or a new session; results sent back; the tick
 * that enforces every deadline; and the SIGTERM drain. */
#ifndef DELIVER_REMOTE_RUN_H
#define DELIVER_REMOTE_RUN_H
#include "deliver/remote.h"
#include "deliver/remote_job.h"

/* Run the agent until SIGTERM; returns the exit status. */
int remote_run(const struct conf *conf);
/* A valid job: to a cached connection of its destination or a new one. */
void remote_run_dispatch(struct remote *rm, struct remote_job *j);
/* Every recipient of j has its result (or gets "deferred"): answer the
 * queue manager, free j. */
void remote_run_job_done(struct remote *rm, struct remote_job *j);
/* The timeouts of the SMTP client for conf (RFC 5321 values unless the
 * smtp_*timeout keys shorten them). */
void remote_run_timeouts(const struct conf *conf, struct remote_timeouts *t);
#endif
