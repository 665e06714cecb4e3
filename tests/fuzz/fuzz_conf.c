/* libFuzzer target for the config parser (lib/conf.c, lib/netaddr.c):
 * any bytes must give 0 or -1 with a "fuzz:" message, never a crash, a
 * leak or a read past the input.  Host names are disabled so that no
 * input waits on DNS.  Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf cf;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_ERR_MAX];
	int rc;

	netaddr_set_numeric_only(1);
	rc = conf_load_string(&cf, "fuzz", (const char *)data, size, err,
	    sizeof(err));
	if (rc == 0) {
		if (cf.retry_min > cf.retry_max || cf.message_size_limit < 1024 ||
		    cf.max_recipients < 1 || cf.smtpd_line_limit < 512 ||
		    cf.users_file[0] == '\0')
			abort();	/* a checked invariant slipped through */
		conf_free(&cf);
	} else if (rc != -1 || strncmp(err, "fuzz:", 5) != 0) {
		abort();
	}
	return 0;
}
