/* mta-local: the local delivery agent (Maildir).  main() only loads the
 * config (-c CONF) and hands over to local_run.  Started by mta-master;
 * usage: mta-local [-c CONF]. */
#include "deliver/local_run.h"
#include "lib/conf.h"
#include "lib/harden.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
	static struct conf conf;
	int rc;

	log_init("mta-local");
	harden_daemon(1);	/* it holds keys or passwords */
	conf_load_args(&conf, argc, argv, "usage: mta-local [-c CONF]", NULL);
	rc = local_run(&conf);
	conf_free(&conf);
	return rc;
}
