/* mta-qmgr: the queue manager daemon.  Started by mta-master with
 * `-c CONFIG`, the state_dir and its listening sockets in MTA_FDS (roles
 * "agent" and "qmgrctl"); run by hand it binds run/agent.sock and
 * run/qmgr.sock itself.  This file only parses the arguments and wires
 * the parts (qmgr_*.c). */
#include "queue/qmgr.h"
#include "lib/log.h"

#include <string.h>

int main(int argc, char **argv)
{
	static struct conf conf;
	static struct qm qm;
	int rc;

	log_init("mta-qmgr");
	conf_load_args(&conf, argc, argv, "usage: mta-qmgr [-c FILE]",
	    "mta-qmgr");
	qm_setup(&qm, &conf);
	log_info("ready: active set up to %u messages, %u jobs per "
	    "destination", qm.limit, conf.destination_concurrency);
	if ((rc = ev_run(&qm.loop)) < 0)
		fatalx("event loop: %s", strerror(-rc));
	log_info("stopped: %llu delivered, %llu bounced, %llu deferred",
	    (unsigned long long)qm.st.delivered,
	    (unsigned long long)qm.st.bounced,
	    (unsigned long long)qm.st.deferred);
	conf_free(&conf);
	return 0;
}
