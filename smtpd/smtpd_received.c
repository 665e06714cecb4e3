/* smtpd_received: the Received: header; see smtpd_received.h.  The "with"
 * keyword follows the RFC 3848 / RFC 6531 registry: SMTP, ESMTP, ESMTPS,
 * ESMTPA, ESMTPSA and their UTF8 forms.  Day and month names come from
 * tables, not strftime, so the locale can never change them. */
#include "smtpd/smtpd_received.h"
#include "lib/log.h"

#include <stdio.h>

static const char *const wday[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const month[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

void smtpd_received_date(char *dst, size_t cap, time_t now)
{
	struct tm tm;
	long off;
	char sign = '+';

	localtime_r(&now, &tm);
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	snprintf(dst, cap, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    wday[tm.tm_wday % 7], tm.tm_mday, month[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	    off / 60, off % 60);
}

void smtpd_received(struct buf *out, const struct smtpd_received_info *ri,
    time_t now)
{
	char date[64], with[16];
	int rc;

	snprintf(with, sizeof(with), "%s%s%s%s", ri->smtputf8 ? "UTF8" : "",
	    ri->esmtp ? "ESMTP" : "SMTP", ri->tls ? "S" : "",
	    ri->auth ? "A" : "");
	smtpd_received_date(date, sizeof(date), now);
	rc = buf_printf(out, "Received: from %s (rdns-unknown [%s])\r\n"
	    "\tby %s (mta) with %s", ri->helo, ri->client_ip, ri->hostname,
	    with);
	if (rc == 0 && ri->rcpt != NULL)
		rc = buf_printf(out, "\r\n\tfor <%s>", ri->rcpt);
	if (rc == 0)
		rc = buf_printf(out, "; %s\r\n", date);
	if (rc < 0)
		panic("Received: header does not fit");
}
