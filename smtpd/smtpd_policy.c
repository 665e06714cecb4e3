/* smtpd_policy: relay control; see smtpd_policy.h.  Outsiders may only
 * reach local@localdomain: the percent hack (b%c@local), bang paths,
 * quoted local parts hiding '@' and source routes (@relay:user@local,
 * which addr_parse_path accepts and discards as RFC 5321 allows) are
 * refused, so that no later component can be talked into relaying. */
#include "smtpd/smtpd_policy.h"

#include <string.h>
#include <strings.h>

int smtpd_policy_trusted(const struct conf *c, const struct sockaddr *sa)
{
	return conf_in_mynetworks(c, sa);
}

int smtpd_policy_routed_local(const char *local)
{
	return strpbrk(local, "%!@") != NULL;
}

int smtpd_policy_rcpt(const struct conf *c, int trusted,
    const struct smtpd_rcpt *r)
{
	char dom[ADDR_DOMAIN_MAX + 1];

	if (trusted)
		return 0;
	if (r->addr.domain[0] == '\0')	/* <Postmaster>, RFC 5321 4.1.1.3 */
		return strcasecmp(r->addr.local, "postmaster") == 0 ? 0 :
		    SMTPD_R_RELAY;
	addr_domain_lower(&r->addr, dom, sizeof(dom));
	if (!conf_is_local_domain(c, dom))
		return SMTPD_R_RELAY;
	if (r->had_route || smtpd_policy_routed_local(r->addr.local))
		return SMTPD_R_RELAY;
	return 0;
}
