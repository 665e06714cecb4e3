/* sink_opts: mta-sink's command line.  sink_main.c calls the parser; it
 * is here, outside main, so the unit tests drive it.  No I/O besides the
 * error text it formats for the caller. */
#ifndef SINK_OPTS_H
#define SINK_OPTS_H
#include <stddef.h>
#include <stdint.h>

#define SINK_LISTEN_MAX 16
#define SINK_DEFAULT_LISTEN "127.0.0.1:2526"
#define SINK_DEFAULT_TIMEOUT 300	/* s: RFC 5321 4.5.3.2.7 server timeout */

struct sink_listen {
	char host[256];		/* numeric or a name; "" = any */
	char port[16];
};

struct sink_opts {
	struct sink_listen listen[SINK_LISTEN_MAX];
	size_t nlisten;
	int json;
	uint64_t seed;
	double defer_pct, reject_pct, data_reject_pct, drop_pct;
	unsigned delay_ms;
	const char *store_dir;	/* NULL: discard messages */
	uint64_t size_limit;	/* advertised in EHLO SIZE; 0: none */
	const char *hostname;
	unsigned timeout_s;	/* idle client closed after this (421) */
};

/* Parse argv into o (defaults first).  0, 1 for --help, or -1 with a
 * message in err[errcap]. */
int sink_opts_parse(int argc, char **argv, struct sink_opts *o, char *err,
    size_t errcap);
/* Split "host:port" or "[v6]:port" into l.  0 or -1. */
int sink_opts_listen(const char *s, struct sink_listen *l);
/* The usage text. */
extern const char sink_opts_usage[];
#endif
