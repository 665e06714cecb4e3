/* mta-pop3d: the POP3 server.  main() only parses argv, loads the config,
 * finds the listening sockets (inherited from mta-master as role "pop3"
 * in MTA_FDS, or bound here from pop3_listen for a manual run) and hands
 * over to pop3d_server.  Usage: mta-pop3d [-c CONF]. */
#include "pop3d/pop3d_server.h"
#include "pop3d/pop3d.h"
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/netio.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
	static struct conf conf;
	int fds[POP3D_LISTEN_MAX], n;

	log_init("mta-pop3d");
	conf_load_args(&conf, argc, argv, "usage: mta-pop3d [-c CONF]", NULL);
	fds_raise_limit();
	n = fds_get(MTA_FD_ROLE_POP3, fds, POP3D_LISTEN_MAX);
	if (n < 0)
		fatalx("malformed %s", MTA_FDS_ENV);
	if (getenv(MTA_FDS_ENV) == NULL)
		n = (int)netio_bind_all(conf.pop3_listen, conf.n_pop3_listen,
		    fds, POP3D_LISTEN_MAX);
	if (n == 0)
		fatalx("no pop3 listening socket (pop3_listen is empty)");
	return pop3d_server_run(&conf, fds, (size_t)n);
}
