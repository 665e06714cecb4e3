/* smtpd_received: the Received: header; see smtpd_received.h.  The "with"
 * keyword follows the RFC 3848 / RFC 6531 registry: SMTP, ESMTP, ESMTPS,
 * ESMTPA, ESMTPSA and their UTF8 forms.  The AUTH identity is shown the
 * way Postfix does, "(Authenticated sender: user)" (it is an account of
 * users_file: printable, no CR/LF).  The date is lib/date's, the same as
 * in the headers sendmail writes. */
#include "smtpd/smtpd_received.h"
#include "lib/date.h"
#include "lib/log.h"

#include <stdio.h>

void smtpd_received(struct buf *out, const struct smtpd_received_info *ri,
    time_t now)
{
	char date[64], with[16];
	int rc;

	snprintf(with, sizeof(with), "%s%s%s%s", ri->smtputf8 ? "UTF8" : "",
	    ri->esmtp ? "ESMTP" : "SMTP", ri->tls ? "S" : "",
	    ri->auth ? "A" : "");
	date_rfc5322(now, date, sizeof(date));
	rc = buf_printf(out, "Received: from %s (rdns-unknown [%s])\r\n",
	    ri->helo, ri->client_ip);
	if (rc == 0 && ri->auth && ri->auth_user != NULL)
		rc = buf_printf(out, "\t(Authenticated sender: %s)\r\n",
		    ri->auth_user);
	if (rc == 0)
		rc = buf_printf(out, "\tby %s (mta) with %s", ri->hostname,
		    with);
	if (rc == 0 && ri->rcpt != NULL)
		rc = buf_printf(out, "\r\n\tfor <%s>", ri->rcpt);
	if (rc == 0)
		rc = buf_printf(out, "; %s\r\n", date);
	if (rc < 0)
		panic("Received: header does not fit");
}
