/* date: the RFC 5322 date-time used in every header we write (smtpd's
 * Received:, sendmail's Received: and Date:), e.g.
 * "Wed, 6 Nov 2026 11:46:18 +0100": local time with a numeric zone.  Day
 * and month names come from tables, not strftime, so the locale can never
 * change them. */
#ifndef LIB_DATE_H
#define LIB_DATE_H
#include <stddef.h>
#include <time.h>

/* The date-time of t into out (n bytes; 64 is plenty). */
void date_rfc5322(time_t t, char *out, size_t n);
#endif
