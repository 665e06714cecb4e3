/* loadgen: the shared declarations of mta-loadgen, the SMTP load generator.
 * loadgen_args parses argv into struct loadgen_opts, loadgen_msg builds the
 * messages (pure), loadgen_stats keeps latency samples and reply counts,
 * loadgen_run drives the sessions on one io_uring, loadgen_report prints.
 * Everything except loadgen_main.c links into bench.a for the unit tests. */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct buf;

enum loadgen_tls_mode {
	LOADGEN_TLS_NONE,
	LOADGEN_TLS_STARTTLS,	/* EHLO, STARTTLS, EHLO again over TLS */
	LOADGEN_TLS_SMTPS,	/* implicit TLS from the first byte */
};

/* AUTH PLAIN's base64 of "\0user\0password" (RFC 4616, 255 + 255). */
#define LOADGEN_AUTH_B64_MAX 700

struct loadgen_opts {
	const char *host;	/* target, from HOST:PORT */
	const char *port;
	unsigned conns;		/* -c */
	unsigned long messages;	/* -m (0 with -d) */
	unsigned duration;	/* -d seconds (0: use -m) */
	unsigned rate;		/* --rate msg/s, open loop (0: closed) */
	size_t size;		/* -s bytes */
	unsigned rcpts;		/* -r */
	unsigned per_conn;	/* --messages-per-connection */
	unsigned domains;	/* --domains (0: the --to domain) */
	const char *from;
	const char *to;
	const char *helo;
	unsigned timeout;	/* seconds per network wait */
	int json;
	int no_pipelining;	/* lock-step even when PIPELINING is offered */
	enum loadgen_tls_mode tls;	/* --tls starttls|smtps */
	int tls_resume;		/* --tls-resume: reuse sessions (tickets) */
	int handshake_only;	/* connect, TLS (+EHLO), QUIT; -m counts these */
	/* --auth USER:PASSWORD as AUTH PLAIN's argument ("": no AUTH) */
	char auth_b64[LOADGEN_AUTH_B64_MAX];
};

/* Parse argv into o; on error a message is in err (n bytes). 0, 1 for
 * --help (usage printed to stdout), or -EINVAL. */
int loadgen_args_parse(struct loadgen_opts *o, int argc, char **argv,
    char *err, size_t n);
/* Print the usage text to f. */
void loadgen_args_usage(FILE *f);
/* Run the load as o says; returns the process exit status. */
int loadgen_run(const struct loadgen_opts *o);
#endif
