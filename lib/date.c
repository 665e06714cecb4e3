/* date: RFC 5322 dates; see date.h.  The zone offset comes from
 * localtime_r's tm_gmtoff, so it is right across DST changes. */
#include "lib/date.h"

#include <stdio.h>

static const char *const date_wday[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const date_month[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

void date_rfc5322(time_t t, char *out, size_t n)
{
	struct tm tm;
	long off;
	char sign = '+';

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	snprintf(out, n, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    date_wday[tm.tm_wday % 7], tm.tm_mday, date_month[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	    off / 60, off % 60);
}
