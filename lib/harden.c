/* harden: no_new_privs and no core dumps; see harden.h. */
#include "lib/harden.h"
#include "lib/log.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int harden_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int harden_nodump(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

void harden_daemon(int nodump)
{
	int rc;

	if ((rc = harden_no_new_privs()) < 0)
		fatalx("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(-rc));
	if (nodump && (rc = harden_nodump()) < 0)
		fatalx("no core dumps: %s", strerror(-rc));
}
