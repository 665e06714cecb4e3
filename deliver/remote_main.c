/* mta-remote: the remote delivery agent (SMTP client).  main() only loads
 * the config (-c CONF, or descriptors from mta-master: lib/fds.h) and
 * hands over to remote_run.  Started by mta-master; usage: mta-remote
 * [-c CONF]. */
#include "deliver/remote_run.h"
#include "lib/conf.h"
#include "lib/harden.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
	static struct conf conf;
	int rc;

	log_init("mta-remote");
	harden_daemon(1);	/* it holds keys or passwords */
	conf_load_args(&conf, argc, argv, "usage: mta-remote [-c CONF]", NULL);
	rc = remote_run(&conf);
	conf_free(&conf);
	return rc;
}
