/* mta-qwriter: the queue writer daemon.  Started by mta-master with
 * `-c CONFIG` and the listening socket in MTA_FDS (role "qwriter"); run by
 * hand it creates $state_dir/run/qwriter.sock itself.  This file only
 * parses the arguments and wires the parts (qwriter_*.c). */
#include "queue/qwriter.h"
#include "lib/log.h"

#include <string.h>

int main(int argc, char **argv)
{
	static struct conf conf;
	static struct qw qw;
	int rc;

	log_init("mta-qwriter");
	conf_load_args(&conf, argc, argv, "usage: mta-qwriter [-c FILE]",
	    "mta-qwriter");
	qw_setup(&qw, &conf);
	log_info("ready: spool %s, checkpoint every %u ms", qw.spool,
	    conf.queue_checkpoint_ms);
	if ((rc = ev_run(&qw.loop)) < 0)
		fatalx("event loop: %s", strerror(-rc));
	log_info("stopped: %llu messages queued in %llu group commits, %llu "
	    "refused", (unsigned long long)qw.ncommits,
	    (unsigned long long)qw.ngroups, (unsigned long long)qw.nfailed);
	qw_alias_free(&qw);
	conf_free(&conf);
	return 0;
}
