/* smtpd_policy: who may send mail to whom (the anti-relay rule).  Mail to
 * a local domain is accepted from anyone, but only in the plain form
 * local@domain; any destination is accepted from a client in mynetworks
 * or one that has authenticated (the caller passes trusted for both);
 * everything else is refused with 554 5.7.1.  Pure: conf and parsed
 * addresses in, a reply id out. */
#ifndef SMTPD_POLICY_H
#define SMTPD_POLICY_H
#include <sys/socket.h>

#include "lib/conf.h"
#include "smtpd/smtpd_cmd.h"

/* 1 if the client address is in mynetworks (relay allowed). */
int smtpd_policy_trusted(const struct conf *c, const struct sockaddr *sa);
/* 0 if the recipient is acceptable, else a reply id (SMTPD_R_RELAY). */
int smtpd_policy_rcpt(const struct conf *c, int trusted,
    const struct smtpd_rcpt *r);
/* 1 if the local part routes onward (user%host, host!user, quoted @):
 * the old relay tricks that a plain local recipient never needs. */
int smtpd_policy_routed_local(const char *local);
#endif
