/* mta-sink: an SMTP server that plays the remote world for benchmarks.
 * main only parses argv; the loop is sink_server.c, the protocol
 * sink_session.c (see mta-sink(1)). */
#include "bench/sink_opts.h"
#include "bench/sink_server.h"
#include "lib/log.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct sink_opts o;
	char err[256];
	int rc;

	log_init("mta-sink");
	if ((rc = sink_opts_parse(argc, argv, &o, err, sizeof(err))) != 0) {
		if (rc < 0)
			fprintf(stderr, "mta-sink: %s\n", err);
		fputs(sink_opts_usage, stderr);
		return rc < 0 ? 2 : 0;
	}
	return sink_server_run(&o);
}
