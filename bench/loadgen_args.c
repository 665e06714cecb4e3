/* loadgen_args: mta-loadgen's command line (see loadgen.h).  Called by
 * loadgen_main and the unit tests; resets getopt itself so it can run
 * many times in one process.  Every number is range-checked here, before
 * anything is allocated from it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "bench/loadgen.h"

enum { OPT_MPC = 256, OPT_FROM, OPT_TO, OPT_JSON, OPT_DOMAINS, OPT_HELO,
	OPT_TIMEOUT, OPT_RATE, OPT_NO_PIPELINING, OPT_TLS, OPT_TLS_RESUME,
	OPT_HANDSHAKE_ONLY, OPT_AUTH };

static const struct option longopts[] = {
	{ "messages-per-connection", required_argument, NULL, OPT_MPC },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "domains", required_argument, NULL, OPT_DOMAINS },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "no-pipelining", no_argument, NULL, OPT_NO_PIPELINING },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "tls-resume", no_argument, NULL, OPT_TLS_RESUME },
	{ "handshake-only", no_argument, NULL, OPT_HANDSHAKE_ONLY },
	{ "auth", required_argument, NULL, OPT_AUTH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void loadgen_args_usage(FILE *f)
{
	fputs("usage: mta-loadgen [options] HOST:PORT\n"
	    "  -c N    concurrent connections (default 1)\n"
	    "  -m N    total messages (default 1000)\n"
	    "  -d SEC  run for SEC seconds instead of -m\n"
	    "  -s B    message size in bytes (default 1024)\n"
	    "  -r N    recipients per message (default 1)\n"
	    "  --messages-per-connection N  (default 1)\n"
	    "  --from ADDR   envelope and From: (default loadgen@localhost)\n"
	    "  --to ADDR     recipient (default rcpt@localhost; with -r N:\n"
	    "                rcpt1@localhost ... rcptN@localhost)\n"
	    "  --rate R      open loop: start R messages/s whatever completes\n"
	    "                (at most -c connections at once)\n"
	    "  --domains N   spread recipients over d1..dN.example.test\n"
	    "  --helo NAME   EHLO name (default loadgen.localhost)\n"
	    "  --timeout SEC per network wait (default 60)\n"
	    "  --no-pipelining  one command per round trip even when the\n"
	    "                server offers PIPELINING (as smtp-source does)\n"
	    "  --tls starttls  EHLO, STARTTLS, EHLO again, then the messages\n"
	    "  --tls smtps     implicit TLS from the first byte\n"
	    "                (no certificate verification: a benchmark client)\n"
	    "  --tls-resume  each new connection offers a session (ticket) an\n"
	    "                earlier one got (default: full handshakes)\n"
	    "  --handshake-only  per connection only the TLS handshake (and\n"
	    "                EHLO with starttls), then QUIT; -m/-d count\n"
	    "                connections; the rate is handshakes/s\n"
	    "  --auth USER:PASSWORD  AUTH PLAIN after EHLO (after TLS)\n"
	    "  --json        print the results as one JSON object\n",
	    f);
}

/* A number in [lo, hi] from s, or -EINVAL with a message in err. */
static int num(const char *s, unsigned long lo, unsigned long hi,
    unsigned long *v, const char *what, char *err, size_t n)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *v < lo || *v > hi) {
		snprintf(err, n, "%s: expected a number in %lu..%lu: %s",
		    what, lo, hi, s);
		return -EINVAL;
	}
	return 0;
}

/* Split "HOST:PORT" or "[V6]:PORT" (the string is modified). */
static int target(struct loadgen_opts *o, char *s, char *err, size_t n)
{
	char *colon = strrchr(s, ':');

	if (colon == NULL || colon[1] == '\0' || colon == s) {
		snprintf(err, n, "target: expected HOST:PORT: %s", s);
		return -EINVAL;
	}
	*colon = '\0';
	if (s[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		s++;
	}
	o->host = s;
	o->port = colon + 1;
	return 0;
}

/* RFC 4648 base64 of p[0..n) into out (NUL-terminated); -EINVAL if it
 * does not fit in outlen. */
static int b64(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	if ((n + 2) / 3 * 4 + 1 > outlen)
		return -EINVAL;
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = i + 1 < n ? al[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? al[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

/* --auth USER:PASSWORD into AUTH PLAIN's argument: "\0USER\0PASSWORD". */
static int auth(struct loadgen_opts *o, const char *arg, char *err, size_t n)
{
	const char *colon = strchr(arg, ':');
	unsigned char raw[2 + 255 + 255];
	size_t ul, pl;

	if (colon == NULL || colon == arg || strchr(arg, '\r') ||
	    strchr(arg, '\n')) {
		snprintf(err, n, "--auth: expected USER:PASSWORD");
		return -EINVAL;
	}
	ul = (size_t)(colon - arg);
	pl = strlen(colon + 1);
	if (ul > 255 || pl > 255) {
		snprintf(err, n, "--auth: user or password over 255 bytes");
		return -EINVAL;
	}
	raw[0] = '\0';
	memcpy(raw + 1, arg, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, colon + 1, pl);
	return b64(raw, 2 + ul + pl, o->auth_b64, sizeof(o->auth_b64));
}

static int tls_mode(struct loadgen_opts *o, const char *arg, char *err,
    size_t n)
{
	if (strcmp(arg, "starttls") == 0)
		o->tls = LOADGEN_TLS_STARTTLS;
	else if (strcmp(arg, "smtps") == 0)
		o->tls = LOADGEN_TLS_SMTPS;
	else {
		snprintf(err, n, "--tls: expected starttls or smtps: %s", arg);
		return -EINVAL;
	}
	return 0;
}

static void defaults(struct loadgen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = 1;
	o->messages = 1000;
	o->size = 1024;
	o->rcpts = 1;
	o->per_conn = 1;
	o->from = "loadgen@localhost";
	o->to = "rcpt@localhost";
	o->helo = "loadgen.localhost";
	o->timeout = 60;
}

/* One option c with argument arg into o. */
static int option(struct loadgen_opts *o, int c, const char *arg, char *err,
    size_t n)
{
	unsigned long v = 0;
	int rc = 0;

	switch (c) {
	case 'c': rc = num(arg, 1, 1000000, &v, "-c", err, n);
		o->conns = (unsigned)v; break;
	case 'm': rc = num(arg, 1, ULONG_MAX / 2, &v, "-m", err, n);
		o->messages = v; break;
	case 'd': rc = num(arg, 1, 86400 * 365, &v, "-d", err, n);
		o->duration = (unsigned)v; break;
	case 's': rc = num(arg, 0, 1UL << 30, &v, "-s", err, n);
		o->size = v; break;
	case 'r': rc = num(arg, 1, 100000, &v, "-r", err, n);
		o->rcpts = (unsigned)v; break;
	case OPT_MPC: rc = num(arg, 1, UINT_MAX, &v,
		    "--messages-per-connection", err, n);
		o->per_conn = (unsigned)v; break;
	case OPT_DOMAINS: rc = num(arg, 1, 10000000, &v, "--domains", err, n);
		o->domains = (unsigned)v; break;
	case OPT_TIMEOUT: rc = num(arg, 1, 86400, &v, "--timeout", err, n);
		o->timeout = (unsigned)v; break;
	case OPT_RATE: rc = num(arg, 1, 10000000, &v, "--rate", err, n);
		o->rate = (unsigned)v; break;
	case OPT_FROM: o->from = arg; break;
	case OPT_TO: o->to = arg; break;
	case OPT_HELO: o->helo = arg; break;
	case OPT_NO_PIPELINING: o->no_pipelining = 1; break;
	case OPT_JSON: o->json = 1; break;
	case OPT_TLS: rc = tls_mode(o, arg, err, n); break;
	case OPT_TLS_RESUME: o->tls_resume = 1; break;
	case OPT_HANDSHAKE_ONLY: o->handshake_only = 1; break;
	case OPT_AUTH: rc = auth(o, arg, err, n); break;
	default:
		snprintf(err, n, "unknown option (see --help)");
		rc = -EINVAL;
	}
	return rc;
}

int loadgen_args_parse(struct loadgen_opts *o, int argc, char **argv,
    char *err, size_t n)
{
	int c, rc;

	defaults(o);
	err[0] = '\0';
	optind = 0;	/* full reset: tests parse many times */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:m:d:s:r:h", longopts,
	    NULL)) != -1) {
		if (c == 'h') {
			loadgen_args_usage(stdout);
			return 1;
		}
		if ((rc = option(o, c, optarg, err, n)) < 0)
			return rc;
	}
	if (o->duration)
		o->messages = 0;
	if (optind != argc - 1) {
		snprintf(err, n, "expected one HOST:PORT (see --help)");
		return -EINVAL;
	}
	if ((o->tls_resume || o->handshake_only) && o->tls == LOADGEN_TLS_NONE) {
		snprintf(err, n, "--tls-resume/--handshake-only need --tls");
		return -EINVAL;
	}
	if (o->handshake_only && o->rate) {
		snprintf(err, n, "--handshake-only: not with --rate");
		return -EINVAL;
	}
	if (strchr(o->from, '>') || strchr(o->to, '>') ||
	    strchr(o->from, '\r') || strchr(o->to, '\n')) {
		snprintf(err, n, "--from/--to: bad address");
		return -EINVAL;
	}
	return target(o, argv[optind], err, n);
}
