/* local_run: the mta-local process around its deliveries -- set-up of the
 * ring and signals, jobs from the queue manager queued for a delivery
 * slot (local_concurrency in flight), results back, the tick, and the
 * SIGTERM drain. */
#ifndef DELIVER_LOCAL_RUN_H
#define DELIVER_LOCAL_RUN_H
#include "deliver/local.h"

/* Run the agent until SIGTERM; returns the exit status. */
int local_run(const struct conf *conf);
/* Give recipient ri of j its result (logs the status line); answers the
 * queue manager when it was the job's last. */
void local_run_set(struct local *lo, struct local_job *j, size_t ri,
    enum agent_class c, const char *dsn, const char *text);
/* A delivery slot became free: start waiting recipients. */
void local_run_more(struct local *lo);
#endif
