/* remote_result: reply -> recipient result mapping and the status line;
 * see remote_result.h.  Kept apart from the session so that the mapping
 * is one table a test can walk. */
#include "deliver/remote_result.h"
#include "lib/log.h"

#include <stdio.h>

const char *remote_class_name(enum remote_class c)
{
	switch (c) {
	case REMOTE_SENT:
		return "sent";
	case REMOTE_BOUNCED:
		return "bounced";
	case REMOTE_DEFERRED:
		break;
	}
	return "deferred";
}

enum remote_class remote_class_of(int code)
{
	if (code >= 200 && code <= 299)
		return REMOTE_SENT;
	if (code >= 500 && code <= 599)
		return REMOTE_BOUNCED;
	return REMOTE_DEFERRED;
}

void remote_dsn_of(const struct remote_reply *r, char out[REMOTE_DSN_MAX])
{
	enum remote_class c = remote_class_of(r->code);
	char want = c == REMOTE_SENT ? '2' : c == REMOTE_BOUNCED ? '5' : '4';

	if (r->dsn[0] == want) {
		snprintf(out, REMOTE_DSN_MAX, "%s", r->dsn);
		return;
	}
	snprintf(out, REMOTE_DSN_MAX, "%c.0.0", want);
}

double remote_delay(uint64_t arrival_us, uint64_t now_us)
{
	if (now_us <= arrival_us)
		return 0.0;
	return (double)(now_us - arrival_us) / 1e6;
}

void remote_log_status(const char *qid, const char *rcpt, const char *relay,
    double delay, const char *dsn, enum remote_class c, const char *text)
{
	log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)",
	    qid, rcpt, relay, delay, dsn, remote_class_name(c), text);
}
