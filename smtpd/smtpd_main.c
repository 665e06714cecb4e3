/* mta-smtpd: the SMTP server worker.  main() only parses argv, loads the
 * config, finds the listening sockets (inherited from mta-master as role
 * "smtp" in MTA_FDS, or bound here from smtp_listen for a manual run) and
 * hands over to smtpd_server.  Usage: mta-smtpd [-c CONF]. */
#include "smtpd/smtpd_server.h"
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: mta-smtpd [-c CONF]\n");
	exit(2);
}

/* Thousands of connections need thousands of descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct conf conf;
	char err[CONF_ERR_MAX];
	const char *path = NULL;
	int fds[SMTPD_LISTEN_MAX], n, ch;

	log_init("mta-smtpd");
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch == 'c')
			path = optarg;
		else
			usage();
	}
	if (optind != argc)
		usage();
	if (conf_load(&conf, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	raise_nofile();
	n = fds_get(MTA_FD_ROLE_SMTP, fds, SMTPD_LISTEN_MAX);
	if (n < 0)
		fatalx("malformed %s", MTA_FDS_ENV);
	if (getenv(MTA_FDS_ENV) == NULL)
		n = (int)smtpd_server_bind(&conf, fds, SMTPD_LISTEN_MAX);
	if (n == 0)
		fatalx("no smtp listening socket (smtp_listen is empty)");
	return smtpd_server_run(&conf, fds, (size_t)n);
}
