/* remote_result: reply -> recipient result mapping; see remote_result.h.
 * Kept apart from the session so that the mapping is one table a test can
 * walk. */
#include "deliver/remote_result.h"

#include <stdio.h>

enum agent_class remote_class_of(int code)
{
	if (code >= 200 && code <= 299)
		return AGENT_SENT;
	if (code >= 500 && code <= 599)
		return AGENT_BOUNCED;
	return AGENT_DEFERRED;
}

void remote_dsn_of(const struct remote_reply *r, char out[REMOTE_DSN_MAX])
{
	enum agent_class c = remote_class_of(r->code);
	char want = c == AGENT_SENT ? '2' : c == AGENT_BOUNCED ? '5' : '4';

	if (r->dsn[0] == want) {
		snprintf(out, REMOTE_DSN_MAX, "%s", r->dsn);
		return;
	}
	snprintf(out, REMOTE_DSN_MAX, "%c.0.0", want);
}
