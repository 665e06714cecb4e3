/* mtactl [-c FILE] COMMAND [ARGS]: parses argv and dispatches through the
 * one command table below, which is also the help text.  Commands of later
 * issues are listed but say "not available yet" (exit 69) instead of
 * pretending.  Unknown command: usage on stderr, exit 64. */
#include "master/mtactl.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mtactl_cmd {
	const char *name;
	const char *args;
	const char *help;
	mtactl_fn fn;		/* NULL: not available yet */
};

static const struct mtactl_cmd mtactl_cmds[] = {
	{ "start", "", "start the MTA in the background", mtactl_start },
	{ "stop", "", "drain and stop the MTA (waits up to 60 s)", mtactl_stop },
	{ "status", "", "show whether the MTA runs, and its daemons",
	  mtactl_status },
	{ "reload", "", "check the config and make the master re-read it",
	  mtactl_reload },
	{ "check", "", "validate the config, tables and TLS pair (file:line: msg)",
	  mtactl_check },
	{ "queue", "", "list the queue (next attempt, last error)",
	  mtactl_queue },
	{ "cat", "ID", "print a queued message's content", mtactl_cat },
	{ "flush", "", "retry all deferred messages now", mtactl_flush },
	{ "delete", "ID|all", "delete a queued message, or all", mtactl_delete },
	{ "hold", "ID", "put a message on hold (no delivery attempts)",
	  mtactl_hold },
	{ "release", "ID", "release a held message", mtactl_release },
	{ "stats", "", "counters (received, delivered, bounced, queue)",
	  mtactl_stats },
	{ "user", "add ADDRESS", "add a mail account (password asked on "
	  "the terminal, or --password-stdin)", mtactl_user },
	{ "user", "passwd ADDRESS", "set an account's password (the same)",
	  mtactl_user },
	{ "user", "del ADDRESS", "delete an account (its Maildir is kept)",
	  mtactl_user },
	{ "user", "list", "list the accounts", mtactl_user },
	{ "help", "", "this list", NULL },
};

static void mtactl_help(FILE *f)
{
	size_t i;
	char left[64];

	fprintf(f, "usage: mtactl [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(mtactl_cmds) / sizeof(mtactl_cmds[0]); i++) {
		snprintf(left, sizeof(left), "%s%s%s", mtactl_cmds[i].name,
		    mtactl_cmds[i].args[0] ? " " : "", mtactl_cmds[i].args);
		fprintf(f, "  %-26s %s\n", left, mtactl_cmds[i].help);
	}
	fprintf(f, "\nThe config is -c FILE, else $MTA_CONF, else ./mta.conf, "
	    "else the embedded defaults.\n");
}

static int mtactl_usage(void)
{
	mtactl_help(stderr);
	return MTACTL_EX_USAGE;
}

int main(int argc, char **argv)
{
	static struct mtactl ctl;
	size_t i;
	int ch;

	log_init("mtactl");
	log_use_timestamps(0);
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		mtactl_help(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			ctl.conf_arg = optarg;
			break;
		case 'h':
			mtactl_help(stdout);
			return 0;
		default:
			return mtactl_usage();
		}
	}
	if (optind >= argc)
		return mtactl_usage();
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0) {
		mtactl_help(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(mtactl_cmds) / sizeof(mtactl_cmds[0]); i++) {
		if (strcmp(argv[0], mtactl_cmds[i].name) != 0)
			continue;
		if (mtactl_cmds[i].fn == NULL) {
			fprintf(stderr, "mtactl: %s: not available yet\n", argv[0]);
			return MTACTL_EX_UNAVAILABLE;
		}
		return mtactl_cmds[i].fn(&ctl, argc, argv);
	}
	fprintf(stderr, "mtactl: unknown command: %s\n", argv[0]);
	return mtactl_usage();
}
