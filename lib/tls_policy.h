/* tls_policy: the outbound STARTTLS policies (mta.conf smtp_tls_policy,
 * the transport_file `tls=` field, the NEXTHOP suffix of
 * docs/delivery-protocol.md) and their names.  Pure: the queue manager
 * only carries a policy, mta-remote applies it. */
#ifndef LIB_TLS_POLICY_H
#define LIB_TLS_POLICY_H
#include <stddef.h>

enum tls_policy {
	TLS_POLICY_DEFAULT = 0,	/* not given: smtp_tls_policy applies */
	TLS_POLICY_NONE,	/* never STARTTLS */
	TLS_POLICY_MAY,		/* when offered (any certificate), else clear */
	TLS_POLICY_MUST,	/* TLS or defer, any certificate */
	TLS_POLICY_VERIFY,	/* TLS with a verified chain and host name */
};

#define TLS_POLICY_NAME_MAX 8	/* "verify" and a NUL */

/* s[0..n) ("none", "may", "must", "verify"; exact, lower case) into *p.
 * 0 or -EINVAL. */
int tls_policy_parse(const char *s, size_t n, enum tls_policy *p);
/* The name of p ("default" for TLS_POLICY_DEFAULT). */
const char *tls_policy_name(enum tls_policy p);
/* p, or dflt when p is TLS_POLICY_DEFAULT (and "may" if both are). */
enum tls_policy tls_policy_effective(enum tls_policy p, enum tls_policy dflt);
/* 1 if mail under p must not go in clear (must, verify). */
int tls_policy_required(enum tls_policy p);
#endif
