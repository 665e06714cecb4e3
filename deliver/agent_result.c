/* agent_result: result classes, the status line and the clocks both
 * delivery agents use; see agent.h.  One place, so that mta-remote and
 * mta-local log recipients in exactly the same format. */
#include "deliver/agent.h"
#include "lib/log.h"
#include "lib/numfmt.h"

#include <time.h>

const char *agent_class_name(enum agent_class c)
{
	switch (c) {
	case AGENT_SENT:
		return "sent";
	case AGENT_BOUNCED:
		return "bounced";
	case AGENT_DEFERRED:
		break;
	}
	return "deferred";
}

double agent_delay(uint64_t arrival_us, uint64_t now_us)
{
	if (now_us <= arrival_us)
		return 0.0;
	return (double)(now_us - arrival_us) / 1e6;
}

/* The TLS field goes before status=, never after it: scripts take the
 * text up to the line's last ')' as the reply. */
void agent_log_status(const char *qid, const char *rcpt, const char *relay,
    double delay, const char *dsn, const char *tls, enum agent_class c,
    const char *text)
{
	int on = tls != NULL && tls[0] != '\0';
	char d[24];

	/* "%.2f" without printf's floating-point path (a line per recipient) */
	fmt_centi(d, (uint64_t)(delay * 100 + 0.5));
	log_info("%s: to=<%s>, relay=%s, delay=%s, dsn=%s%s%s, "
	    "status=%s (%s)", qid, rcpt, relay, d, dsn, on ? ", tls=" : "",
	    on ? tls : "", agent_class_name(c), text);
}

void agent_text_append(char *text, size_t *len, const char *p, size_t n)
{
	for (size_t i = 0; i < n && *len < AGENT_TEXT_MAX; i++) {
		unsigned char ch = (unsigned char)p[i];

		text[(*len)++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	text[*len] = '\0';
}

uint64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t agent_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
