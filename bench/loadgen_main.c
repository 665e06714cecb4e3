/* mta-loadgen: an SMTP load generator (see docs/mta-loadgen.1).  This file
 * only parses argv and hands over to loadgen_run; everything else lives in
 * bench/loadgen_*.c and links into the unit tests. */
#include <stdio.h>

#include "lib/log.h"
#include "bench/loadgen.h"

int main(int argc, char **argv)
{
	struct loadgen_opts o;
	char err[256];
	int rc;

	log_init("mta-loadgen");
	rc = loadgen_args_parse(&o, argc, argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "mta-loadgen: %s\n", err);
		return 2;
	}
	return loadgen_run(&o);
}
