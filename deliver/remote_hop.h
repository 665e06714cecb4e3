/* remote_hop: the NEXTHOP attribute of a job (docs/delivery-protocol.md):
 * "mx:DOMAIN" (MX lookup, port 25), "host:HOST:PORT" (MX lookup of HOST,
 * that port) or "addr:HOST:PORT" (A/AAAA or a literal IP, no MX).  HOST
 * may be an IPv6 literal, with or without brackets: the port is after the
 * last colon.  Any of them may end in ";tls=POLICY" (none, may, must,
 * verify: a transport_file entry's policy); without it smtp_tls_policy
 * applies.  "local" and anything else is refused. */
#ifndef DELIVER_REMOTE_HOP_H
#define DELIVER_REMOTE_HOP_H
#include <stddef.h>

#include "lib/tls_policy.h"

#define REMOTE_HOP_MAX 300	/* bytes of a NEXTHOP value */

enum remote_hop_kind { REMOTE_HOP_MX, REMOTE_HOP_HOST, REMOTE_HOP_ADDR };

struct remote_hop {
	enum remote_hop_kind kind;
	char name[256];		/* domain, host name or address (no brackets) */
	unsigned port;
	enum tls_policy tls;	/* TLS_POLICY_DEFAULT: no ";tls=" */
};

/* Parse s[0..n) into h.  0, or -EINVAL with a reason in *why. */
int remote_hop_parse(const char *s, size_t n, struct remote_hop *h,
    const char **why);
#endif
