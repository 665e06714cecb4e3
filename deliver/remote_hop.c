/* remote_hop: NEXTHOP parsing; see remote_hop.h.  Names are checked for
 * the characters of domain names and address literals only, so nothing a
 * queue manager sends can smuggle odd bytes into a DNS query or a log. */
#include "deliver/remote_hop.h"

#include <errno.h>
#include <string.h>

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == ':';
}

/* The name s[0..n), brackets stripped, into h->name. */
static int take_name(const char *s, size_t n, struct remote_hop *h,
    const char **why)
{
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(h->name)) {
		*why = "bad host name length";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i])) {
			*why = "bad character in host name";
			return -EINVAL;
		}
	}
	memcpy(h->name, s, n);
	h->name[n] = '\0';
	return 0;
}

static int take_port(const char *s, size_t n, unsigned *port,
    const char **why)
{
	unsigned v = 0;

	*why = "bad port";
	if (n == 0 || n > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/* The ";tls=POLICY" suffix of s[0..*n), if any, into h; *n loses it. */
static int take_tls(const char *s, size_t *n, struct remote_hop *h,
    const char **why)
{
	const char *semi = memchr(s, ';', *n);
	size_t rest;

	if (semi == NULL)
		return 0;
	rest = (size_t)(s + *n - semi) - 1;
	*n = (size_t)(semi - s);
	if (rest < 4 || memcmp(semi + 1, "tls=", 4) != 0 ||
	    tls_policy_parse(semi + 5, rest - 4, &h->tls) < 0) {
		*why = "bad TLS policy";
		return -EINVAL;
	}
	return 0;
}

int remote_hop_parse(const char *s, size_t n, struct remote_hop *h,
    const char **why)
{
	const char *colon;
	size_t k;

	memset(h, 0, sizeof(*h));
	if (take_tls(s, &n, h, why) < 0)
		return -EINVAL;
	*why = "unknown next hop kind";
	if (n > 3 && memcmp(s, "mx:", 3) == 0) {
		h->kind = REMOTE_HOP_MX;
		h->port = 25;
		if (memchr(s + 3, ':', n - 3) != NULL) {
			*why = "bad character in domain";
			return -EINVAL;
		}
		return take_name(s + 3, n - 3, h, why);
	}
	if (n > 5 && memcmp(s, "host:", 5) == 0) {
		h->kind = REMOTE_HOP_HOST;
		k = 5;
	} else if (n > 5 && memcmp(s, "addr:", 5) == 0) {
		h->kind = REMOTE_HOP_ADDR;
		k = 5;
	} else {
		return -EINVAL;
	}
	colon = memrchr(s + k, ':', n - k);
	if (colon == NULL) {
		*why = "next hop without a port";
		return -EINVAL;
	}
	if (take_port(colon + 1, (size_t)(s + n - colon - 1), &h->port, why) < 0)
		return -EINVAL;
	return take_name(s + k, (size_t)(colon - s) - k, h, why);
}
