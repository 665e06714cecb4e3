/* fds: parse MTA_FDS, raise RLIMIT_NOFILE; see fds.h. */
#include "lib/fds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int fds_get(const char *role, int *out, int max)
{
	const char *s = getenv(MTA_FDS_ENV);
	size_t rlen = strlen(role);
	int n = 0;

	while (s != NULL && *s != '\0') {
		const char *colon = strchr(s, ':');
		char *end;
		long fd;

		if (colon == NULL)
			return -EINVAL;
		fd = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || fd < MTA_FD_BASE || fd > 65535 ||
		    (*end != ',' && *end != '\0'))
			return -EINVAL;
		if ((size_t)(colon - s) == rlen && memcmp(s, role, rlen) == 0 &&
		    n < max)
			out[n++] = (int)fd;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

void fds_raise_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}
