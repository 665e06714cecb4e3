/* smtpd_received: the Received: trace header (RFC 5321 4.4, RFC 5322
 * date) that smtpd puts first in every message it queues.  Pure: the
 * caller supplies every fact and the time, so tests are deterministic. */
#ifndef SMTPD_RECEIVED_H
#define SMTPD_RECEIVED_H
#include <time.h>

#include "lib/buf.h"

struct smtpd_received_info {
	const char *helo;	/* EHLO/HELO argument */
	const char *client_ip;	/* text, no brackets */
	const char *hostname;	/* our name */
	const char *rcpt;	/* the recipient when there is exactly one */
	const char *auth_user;	/* the AUTH identity (auth set), or NULL */
	int esmtp, tls, auth, smtputf8;
};

/* Append the header (CRLF line endings, folded) to out. */
void smtpd_received(struct buf *out, const struct smtpd_received_info *ri,
    time_t now);
#endif
