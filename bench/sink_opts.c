/* sink_opts: mta-sink's argv parser; see sink_opts.h.  getopt_long is
 * reset (optind = 0) on every call so tests can parse many vectors. */
#include "bench/sink_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char sink_opts_usage[] =
    "usage: mta-sink [-l host:port]... [--json] [--seed N]\n"
    "    [--defer-pct P] [--reject-pct P] [--data-reject-pct P]\n"
    "    [--drop-pct P] [--delay-ms N] [--store DIR] [--size N]\n"
    "    [--hostname NAME] [--timeout SEC]\n";

enum {
	OPT_JSON = 256, OPT_SEED, OPT_DEFER, OPT_REJECT, OPT_DATA_REJECT,
	OPT_DROP, OPT_DELAY, OPT_STORE, OPT_SIZE, OPT_HOSTNAME, OPT_TIMEOUT,
};

static const struct option longopts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "defer-pct", required_argument, NULL, OPT_DEFER },
	{ "reject-pct", required_argument, NULL, OPT_REJECT },
	{ "data-reject-pct", required_argument, NULL, OPT_DATA_REJECT },
	{ "drop-pct", required_argument, NULL, OPT_DROP },
	{ "delay-ms", required_argument, NULL, OPT_DELAY },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

int sink_opts_listen(const char *s, struct sink_listen *l)
{
	const char *colon, *host = s;
	size_t hlen;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen >= sizeof(l->host) || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(l->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(l->host, host, hlen);
	l->host[hlen] = '\0';
	memcpy(l->port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

static int pct(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 100))
		return -1;
	*out = v;
	return 0;
}

static int num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static void defaults(struct sink_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->hostname = "mta-sink";
	o->size_limit = 0;
	o->timeout_s = SINK_DEFAULT_TIMEOUT;
}

/* One option; 0 or -1 (bad value). */
static int one(int c, const char *arg, struct sink_opts *o)
{
	uint64_t v;

	switch (c) {
	case 'l':
		if (o->nlisten >= SINK_LISTEN_MAX)
			return -1;
		return sink_opts_listen(arg, &o->listen[o->nlisten++]);
	case OPT_JSON: o->json = 1; return 0;
	case OPT_SEED: return num(arg, UINT64_MAX, &o->seed);
	case OPT_DEFER: return pct(arg, &o->defer_pct);
	case OPT_REJECT: return pct(arg, &o->reject_pct);
	case OPT_DATA_REJECT: return pct(arg, &o->data_reject_pct);
	case OPT_DROP: return pct(arg, &o->drop_pct);
	case OPT_DELAY:
		if (num(arg, 3600000, &v) < 0)
			return -1;
		o->delay_ms = (unsigned)v;
		return 0;
	case OPT_STORE: o->store_dir = arg; return 0;
	case OPT_SIZE: return num(arg, UINT64_MAX, &o->size_limit);
	case OPT_HOSTNAME: o->hostname = arg; return 0;
	case OPT_TIMEOUT:
		if (num(arg, 86400, &v) < 0 || v == 0)
			return -1;
		o->timeout_s = (unsigned)v;
		return 0;
	default: return -1;
	}
}

int sink_opts_parse(int argc, char **argv, struct sink_opts *o, char *err,
    size_t errcap)
{
	int c;

	defaults(o);
	optind = 0;	/* GNU: start over, also for the tests */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+l:h", longopts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == '?' || one(c, optarg, o) < 0) {
			snprintf(err, errcap, "bad option or value: %s",
			    argv[optind - 1 > 0 ? optind - 1 : 0]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errcap, "unexpected argument: %s", argv[optind]);
		return -1;
	}
	if (o->defer_pct + o->reject_pct > 100 ||
	    o->drop_pct + o->data_reject_pct > 100) {
		snprintf(err, errcap, "percentages add up to more than 100");
		return -1;
	}
	if (o->nlisten == 0)
		(void)sink_opts_listen(SINK_DEFAULT_LISTEN, &o->listen[o->nlisten++]);
	return 0;
}
