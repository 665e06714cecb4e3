/* dns: asynchronous next-hop resolution with c-ares, its sockets polled on
 * the process's io_uring ring (no blocking call, no thread).  Turns a next
 * hop into the ordered list of addresses an SMTP client should try:
 * MX records by preference (random order among equal preferences), each
 * MX host's AAAA and A addresses, or the domain's own AAAA/A when it has
 * no MX (RFC 5321 5.1).  A null MX (RFC 7505: one MX "." ) is reported as
 * such, so the caller bounces at once. */
#ifndef LIB_DNS_H
#define LIB_DNS_H
#include <stddef.h>
#include <sys/socket.h>

#include "lib/ev.h"

#define DNS_TARGETS_MAX 32	/* addresses tried per next hop at most */

enum dns_status {
	DNS_OK = 0,		/* at least one target */
	DNS_TEMPFAIL,		/* timeout, SERVFAIL, refused: defer (4.4.3) */
	DNS_NOTFOUND,		/* NXDOMAIN, or no MX and no address (5.1.2) */
	DNS_NULLMX,		/* RFC 7505 null MX: bounce (5.1.10) */
};

struct dns_target {
	char host[256];		/* MX host name (or the domain), for logs */
	unsigned pref;		/* MX preference (0 for an implicit MX) */
	struct sockaddr_storage addr;	/* port filled in */
	socklen_t addrlen;
};

struct dns_result {
	enum dns_status status;
	char text[256];		/* why, for logs and DSNs, when not DNS_OK */
	size_t n;
	struct dns_target t[DNS_TARGETS_MAX];
};

struct dns_resolver;

/* Called once per query, on the loop; result is valid during the call. */
typedef void dns_done_fn(void *arg, const struct dns_result *result);

/* A resolver on loop.  servers: "ip[:port],..." ("[ipv6]:port" with a
 * port; "" for /etc/resolv.conf); timeout_ms per try (2 tries, the second
 * twice as long).  NULL and errno (EINVAL: bad server list) on failure. */
struct dns_resolver *dns_open(struct ev_loop *loop, const char *servers,
    unsigned timeout_ms);
/* Cancel every query (their callbacks run with DNS_TEMPFAIL) and free.
 * Safe inside a done callback (then it takes effect when that returns);
 * keep running the loop a moment after so cancelled ops complete. */
void dns_close(struct dns_resolver *r);
/* Resolve name for port.  mx != 0: MX lookup first (with the no-MX
 * fallback); mx == 0 or "[name]": the name's own AAAA/A only.  A literal
 * address ("1.2.3.4", "::1", "[1.2.3.4]", "[IPv6:::1]") completes without
 * a query.  Targets: per MX host its AAAA then its A addresses.  done
 * always runs exactly once, possibly before dns_resolve returns. */
void dns_resolve(struct dns_resolver *r, const char *name, unsigned port,
    int mx, dns_done_fn *done, void *arg);
/* Pure helpers, exposed for tests: order MX answers (sort by preference,
 * shuffle equal preferences with rnd; NULL: no shuffle), 1 if the set is a
 * null MX (one record whose host is "" or "."). */
struct dns_mx {
	char host[256];
	unsigned pref;
};
void dns_mx_order(struct dns_mx *mx, size_t n, unsigned (*rnd)(void));
int dns_mx_is_null(const struct dns_mx *mx, size_t n);
#endif
