/* qmgr_route: where a recipient goes (docs/delivery-protocol.md NEXTHOP):
 * the transport_file entry of its domain, else "local" for local_domains,
 * else the relayhost, else an MX lookup of the domain.  Domain literals
 * skip the lookup.  And the grouping of a message's recipients into jobs
 * of one next hop each, at most smtp_rcpt_limit large.  Pure. */
#include "queue/qmgr.h"
#include "lib/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

static int route_put(char *out, size_t n, const char *prefix,
    const char *host, unsigned port)
{
	int w;

	if (port == 0)
		w = snprintf(out, n, "%s%s", prefix, host);
	else
		w = snprintf(out, n, "%s%s:%u", prefix, host, port);
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]": the address inside. */
static int route_literal(const char *dom, char *out, size_t n)
{
	char ip[128];
	size_t len = strlen(dom);
	const char *s = dom + 1;

	if (len < 3 || dom[len - 1] != ']')
		return -EINVAL;
	len -= 2;
	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0)
		s += 5, len -= 5;
	if (len == 0 || len >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, len);
	ip[len] = '\0';
	return route_put(out, n, "addr:", ip, 25);
}

int qm_route(const struct conf *c, const struct transport *t,
    const char *addr, char *out, size_t n)
{
	const struct transport_entry *e;
	const char *at = strrchr(addr, '@');
	char dom[256];
	size_t len;

	if (at == NULL || (len = strlen(at + 1)) == 0 || len >= sizeof(dom))
		return -EINVAL;
	for (size_t i = 0; i <= len; i++)
		dom[i] = (char)tolower((unsigned char)at[1 + i]);
	if (dom[0] == '[')
		return route_literal(dom, out, n);
	if (t != NULL && (e = transport_lookup(t, dom)) != NULL)
		return transport_nexthop(e, out, n);
	if (conf_is_local_domain(c, dom))
		return route_put(out, n, "local", "", 0);
	if (c->relayhost.host[0] != '\0')
		return route_put(out, n, c->relayhost.no_mx ? "addr:" : "host:",
		    c->relayhost.host, c->relayhost.port);
	return route_put(out, n, "mx:", dom, 0);
}

enum qm_kind qm_route_kind(const char *nexthop)
{
	return strcmp(nexthop, "local") == 0 ? QM_KIND_LOCAL : QM_KIND_REMOTE;
}

static int group_cmp(const void *a, const void *b, void *arg)
{
	const char *const *hops = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(hops[x], hops[y]);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

struct group_run {
	size_t start, len;	/* in the sorted index array */
	uint32_t first;		/* lowest recipient index */
};

static int run_cmp(const void *a, const void *b)
{
	const struct group_run *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

size_t qm_group(const char *const *hops, size_t n, unsigned limit,
    uint32_t *order, unsigned *sizes)
{
	uint32_t *idx = xreallocarray(NULL, n ? n : 1, sizeof(*idx));
	struct group_run *runs = xreallocarray(NULL, n ? n : 1, sizeof(*runs));
	size_t nruns = 0, njobs = 0, o = 0;

	if (limit == 0)
		limit = 1;
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, n, sizeof(*idx), group_cmp, (void *)(uintptr_t)hops);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(hops[idx[i]], hops[idx[i - 1]]) != 0) {
			runs[nruns].start = i;
			runs[nruns].len = 0;
			runs[nruns].first = idx[i];
			nruns++;
		}
		runs[nruns - 1].len++;
	}
	qsort(runs, nruns, sizeof(*runs), run_cmp);
	for (size_t r = 0; r < nruns; r++)
		for (size_t k = 0; k < runs[r].len; k += limit) {
			size_t m = runs[r].len - k < limit ? runs[r].len - k :
			    limit;

			memcpy(order + o, idx + runs[r].start + k,
			    m * sizeof(*order));
			o += m;
			sizes[njobs++] = (unsigned)m;
		}
	free(idx);
	free(runs);
	return njobs;
}
