/* tls_policy: policy names and the defaulting rule; see tls_policy.h. */
#include "lib/tls_policy.h"

#include <errno.h>
#include <string.h>

static const char *const names[] = {
	[TLS_POLICY_DEFAULT] = "default",
	[TLS_POLICY_NONE] = "none",
	[TLS_POLICY_MAY] = "may",
	[TLS_POLICY_MUST] = "must",
	[TLS_POLICY_VERIFY] = "verify",
};

int tls_policy_parse(const char *s, size_t n, enum tls_policy *p)
{
	/* "default" is not a value anyone may write: leaving the field out
	 * says that. */
	for (size_t i = TLS_POLICY_NONE; i <= TLS_POLICY_VERIFY; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
			*p = (enum tls_policy)i;
			return 0;
		}
	return -EINVAL;
}

const char *tls_policy_name(enum tls_policy p)
{
	if ((size_t)p > TLS_POLICY_VERIFY)
		return "?";
	return names[p];
}

enum tls_policy tls_policy_effective(enum tls_policy p, enum tls_policy dflt)
{
	if (p != TLS_POLICY_DEFAULT)
		return p;
	return dflt != TLS_POLICY_DEFAULT ? dflt : TLS_POLICY_MAY;
}

int tls_policy_required(enum tls_policy p)
{
	return p == TLS_POLICY_MUST || p == TLS_POLICY_VERIFY;
}
