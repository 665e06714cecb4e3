/* netaddr: network-address text and CIDR matching; see netaddr.h.  Only
 * numeric forms are parsed by hand; names go to getaddrinfo (numeric
 * first, so tests and loopback configs never need DNS). */
#include "lib/netaddr.h"
#include "lib/addr.h"
#include "lib/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

int netaddr_port(const char *s, size_t n, unsigned *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

static int copy_host(const char *s, size_t n, char *host, size_t hostlen,
    const char **why)
{
	if (n == 0) {
		*why = "empty host";
		return -EINVAL;
	}
	if (n >= hostlen) {
		*why = "host name too long";
		return -EINVAL;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

static int split_port(const char *p, int *port, const char **why)
{
	unsigned v;

	if (netaddr_port(p, strlen(p), &v) < 0) {
		*why = "bad port (0..65535)";
		return -EINVAL;
	}
	*port = (int)v;
	return 0;
}

int netaddr_split(const char *s, char *host, size_t hostlen, int *port,
    int *bracketed, const char **why)
{
	const char *colon, *close;

	*port = -1;
	*bracketed = 0;
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (close == NULL || memchr(s + 1, '[', (size_t)(close - s - 1))) {
			*why = "unbalanced '['";
			return -EINVAL;
		}
		*bracketed = 1;
		if (copy_host(s + 1, (size_t)(close - s - 1), host, hostlen,
		    why) < 0)
			return -EINVAL;
		if (close[1] == '\0')
			return 0;
		if (close[1] != ':') {
			*why = "junk after ']'";
			return -EINVAL;
		}
		return split_port(close + 2, port, why);
	}
	if (strchr(s, ']') != NULL) {
		*why = "unbalanced ']'";
		return -EINVAL;
	}
	colon = strchr(s, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		return copy_host(s, strlen(s), host, hostlen, why);
	if (copy_host(s, (size_t)(colon - s), host, hostlen, why) < 0)
		return -EINVAL;
	return split_port(colon + 1, port, why);
}

int netaddr_numeric(const char *host, unsigned port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

static int seen_before(const struct sockaddr_storage *out,
    const socklen_t *outlen, size_t n, const struct addrinfo *ai)
{
	for (size_t i = 0; i < n; i++)
		if (outlen[i] == ai->ai_addrlen &&
		    memcmp(&out[i], ai->ai_addr, ai->ai_addrlen) == 0)
			return 1;
	return 0;
}

static int numeric_only;

void netaddr_set_numeric_only(int on)
{
	numeric_only = on;
}

int netaddr_resolve(const char *host, unsigned port,
    struct sockaddr_storage *out, socklen_t *outlen, size_t max,
    const char **why)
{
	struct addrinfo hints, *res, *ai;
	char serv[8];
	size_t n = 0;
	int rc;

	if (max > 0 && netaddr_numeric(host, port, &out[0], &outlen[0]) == 0)
		return 1;
	if (numeric_only) {
		*why = "host names are disabled";
		return -EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		*why = gai_strerror(rc);
		return -ENOENT;
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(out[0]) ||
		    seen_before(out, outlen, n, ai))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n], ai->ai_addr, ai->ai_addrlen);
		outlen[n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (n == 0) {
		*why = "no usable address";
		return -ENOENT;
	}
	return (int)n;
}

int netaddr_parse_listen(const char *item, struct conf_listen *l, size_t *n,
    size_t max, const char **why)
{
	struct sockaddr_storage ss[CONF_LIST_MAX];
	socklen_t len[CONF_LIST_MAX];
	char host[256];
	int port, br, got;

	if (strlen(item) >= sizeof(l->text)) {
		*why = "too long";
		return -EINVAL;
	}
	if (netaddr_split(item, host, sizeof(host), &port, &br, why) < 0)
		return -EINVAL;
	if (port < 0) {
		*why = "missing :port";
		return -EINVAL;
	}
	got = netaddr_resolve(host, (unsigned)port, ss, len, ARRAY_LEN(ss),
	    why);
	if (got < 0)
		return got;
	if (*n + (size_t)got > max) {
		*why = "too many addresses";
		return -E2BIG;
	}
	for (int i = 0; i < got; i++, (*n)++) {
		l[*n].addr = ss[i];
		l[*n].addrlen = len[i];
		snprintf(l[*n].text, sizeof(l->text), "%s", item);
	}
	return 0;
}

int netaddr_parse_server(const char *item, unsigned defport,
    struct conf_listen *l, const char **why)
{
	char host[256];
	int port, br;

	if (strlen(item) >= sizeof(l->text)) {
		*why = "too long";
		return -EINVAL;
	}
	if (netaddr_split(item, host, sizeof(host), &port, &br, why) < 0)
		return -EINVAL;
	if (port == 0) {
		*why = "bad port (1..65535)";
		return -EINVAL;
	}
	if (netaddr_numeric(host, port < 0 ? defport : (unsigned)port,
	    &l->addr, &l->addrlen) < 0) {
		*why = "not a numeric IP address";
		return -EINVAL;
	}
	snprintf(l->text, sizeof(l->text), "%s", item);
	return 0;
}

int netaddr_parse_hop(const char *val, unsigned defport, struct conf_hop *h,
    const char **why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int port, br;

	memset(h, 0, sizeof(*h));
	if (netaddr_split(val, h->host, sizeof(h->host), &port, &br, why) < 0)
		goto bad;
	if (port == 0) {
		*why = "bad port (1..65535)";
		goto bad;
	}
	if (netaddr_numeric(h->host, 0, &ss, &len) < 0 &&
	    addr_valid_domain(h->host, strlen(h->host), 0) != 0) {
		*why = "bad host name";
		goto bad;
	}
	h->port = port < 0 ? defport : (unsigned)port;
	h->no_mx = br;
	return 0;
bad:
	memset(h, 0, sizeof(*h));
	return -EINVAL;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

static int parse_prefix(const char *p, unsigned max, unsigned *prefix)
{
	unsigned v;

	if (p == NULL) {
		*prefix = max;
		return 0;
	}
	if (netaddr_port(p, strlen(p), &v) < 0 || v > max || strlen(p) > 3)
		return -EINVAL;
	*prefix = v;
	return 0;
}

/* 1 if bits past the prefix are set in addr. */
static int host_bits_set(const uint8_t *addr, unsigned bytes, unsigned prefix)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned lo = i * 8;
		uint8_t mask;

		if (lo + 8 <= prefix)
			continue;
		mask = lo >= prefix ? 0xff : (uint8_t)(0xff >> (prefix - lo));
		if (addr[i] & mask)
			return 1;
	}
	return 0;
}

int netaddr_parse_cidr(const char *s, int *family, uint8_t addr[16],
    unsigned *prefix, const char **why)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/'), *ip = tmp;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(tmp) || n == 0) {
		*why = "bad network address";
		return -EINVAL;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (tmp[0] == '[' && n > 2 && tmp[n - 1] == ']') {
		tmp[n - 1] = '\0';
		ip = tmp + 1;
	}
	memset(addr, 0, 16);
	if (ip == tmp && inet_pton(AF_INET, ip, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		*family = AF_INET6;
	else {
		*why = "bad network address";
		return -EINVAL;
	}
	if (parse_prefix(slash ? slash + 1 : NULL,
	    *family == AF_INET ? 32 : 128, prefix) < 0) {
		*why = "bad prefix length";
		return -EINVAL;
	}
	if (host_bits_set(addr, *family == AF_INET ? 4 : 16, *prefix)) {
		*why = "host bits set after the prefix";
		return -EINVAL;
	}
	if (*family == AF_INET6 && *prefix >= 96 &&
	    memcmp(addr, v4mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
		*prefix -= 96;
	}
	return 0;
}

/* The peer's address bytes; IPv4-mapped IPv6 counts as IPv4. */
static int peer_addr(const struct sockaddr *sa, int *family,
    const uint8_t **p)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET) {
		*family = AF_INET;
		*p = (const uint8_t *)&sin->sin_addr;
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	*p = sin6->sin6_addr.s6_addr;
	*family = AF_INET6;
	if (memcmp(*p, v4mapped, sizeof(v4mapped)) == 0) {
		*p += sizeof(v4mapped);
		*family = AF_INET;
	}
	return 0;
}

int netaddr_net_match(int family, const uint8_t addr[16], unsigned prefix,
    const struct sockaddr *sa)
{
	const uint8_t *peer;
	unsigned full = prefix / 8, rest = prefix % 8;
	int pf;

	if (peer_addr(sa, &pf, &peer) < 0 || pf != family)
		return 0;
	if (prefix > (family == AF_INET ? 32u : 128u))
		return 0;
	if (memcmp(peer, addr, full) != 0)
		return 0;
	return rest == 0 ||
	    ((peer[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}
