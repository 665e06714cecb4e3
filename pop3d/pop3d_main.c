/* mta-pop3d: the POP3 server.  main() only parses argv, loads the config,
 * finds the listening sockets (inherited from mta-master as roles "pop3"
 * and "pop3s" in MTA_FDS, or bound here from pop3_listen and pop3s_listen
 * for a manual run) and hands over to pop3d_server.
 * Usage: mta-pop3d [-c CONF]. */
#include "pop3d/pop3d_server.h"
#include "pop3d/pop3d.h"
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/harden.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
	static struct conf conf;
	struct netsrv_listen ls[POP3D_LISTEN_MAX];
	size_t n;

	log_init("mta-pop3d");
	harden_daemon(1);	/* it holds keys or passwords */
	conf_load_args(&conf, argc, argv, "usage: mta-pop3d [-c CONF]", NULL);
	fds_raise_limit();
	const struct netsrv_role roles[] = {
		{ MTA_FD_ROLE_POP3, conf.pop3_listen, conf.n_pop3_listen,
		    POP3D_PORT_POP3 },
		{ MTA_FD_ROLE_POP3S, conf.pop3s_listen, conf.n_pop3s_listen,
		    POP3D_PORT_POP3S },
	};

	n = netsrv_listeners(roles, sizeof(roles) / sizeof(roles[0]), ls,
	    POP3D_LISTEN_MAX);
	return pop3d_server_run(&conf, ls, n);
}
