/* mta-smtpd: the SMTP server worker.  main() only parses argv, loads the
 * config, finds the listening sockets (inherited from mta-master as roles
 * "smtp", "submission" and "smtps" in MTA_FDS, or bound here from the
 * *_listen keys for a manual run) and hands over to smtpd_server.
 * Usage: mta-smtpd [-c CONF]. */
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_server.h"
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/harden.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
	static struct conf conf;
	struct netsrv_listen ls[SMTPD_LISTEN_MAX];
	size_t n;

	log_init("mta-smtpd");
	harden_daemon(1);	/* it holds keys or passwords */
	conf_load_args(&conf, argc, argv, "usage: mta-smtpd [-c CONF]", NULL);
	fds_raise_limit();
	const struct netsrv_role roles[] = {
		{ MTA_FD_ROLE_SMTP, conf.smtp_listen, conf.n_smtp_listen,
		    SMTPD_PORT_SMTP },
		{ MTA_FD_ROLE_SUBMISSION, conf.submission_listen,
		    conf.n_submission_listen, SMTPD_PORT_SUBMISSION },
		{ MTA_FD_ROLE_SMTPS, conf.smtps_listen, conf.n_smtps_listen,
		    SMTPD_PORT_SMTPS },
	};

	n = netsrv_listeners(roles, sizeof(roles) / sizeof(roles[0]), ls,
	    SMTPD_LISTEN_MAX);
	return smtpd_server_run(&conf, ls, n);
}
