/* sink_server: mta-sink's event loop.  One io_uring, multishot accept on
 * every listener, connections on smtpd's I/O layer (multishot recv into a
 * provided-buffer ring, one send per connection per loop turn), delay
 * timers and message stores on the same ring.  SIGUSR1 prints the counts;
 * SIGTERM/SIGINT print them and stop. */
#ifndef SINK_SERVER_H
#define SINK_SERVER_H
#include "bench/sink_opts.h"

/* Bind every listener (fatal on failure), then serve until a stop signal.
 * Returns the exit status. */
int sink_server_run(const struct sink_opts *o);
#endif
