/* mta-smtpd: the SMTP server worker.  main() only parses argv, loads the
 * config, finds the listening sockets (inherited from mta-master as role
 * "smtp" in MTA_FDS, or bound here from smtp_listen for a manual run) and
 * hands over to smtpd_server.  Usage: mta-smtpd [-c CONF]. */
#include "smtpd/smtpd_server.h"
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/log.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
	static struct conf conf;
	int fds[SMTPD_LISTEN_MAX], n;

	log_init("mta-smtpd");
	conf_load_args(&conf, argc, argv, "usage: mta-smtpd [-c CONF]", NULL);
	fds_raise_limit();
	n = fds_get(MTA_FD_ROLE_SMTP, fds, SMTPD_LISTEN_MAX);
	if (n < 0)
		fatalx("malformed %s", MTA_FDS_ENV);
	if (getenv(MTA_FDS_ENV) == NULL)
		n = (int)smtpd_server_bind(&conf, fds, SMTPD_LISTEN_MAX);
	if (n == 0)
		fatalx("no smtp listening socket (smtp_listen is empty)");
	return smtpd_server_run(&conf, fds, (size_t)n);
}
