/* dsn: RFC 3464 delivery status notifications (RFC 6522 multipart/report)
 * built from a decoded queue file and the per-recipient outcomes.  Pure:
 * no I/O, so it is unit-tested and fuzzed on its own; the queue manager
 * submits the result through the writer from <> to the original sender. */
#ifndef QUEUE_DSN_H
#define QUEUE_DSN_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"
#include "queue/queue_file.h"

enum dsn_action {
	DSN_FAILED,		/* bounced or expired: Action: failed */
	DSN_DELAYED,		/* delay warning: Action: delayed */
};

struct dsn_rcpt {
	const char *addr;	/* the original recipient, without brackets */
	const char *status;	/* enhanced code "5.1.1" */
	const char *remote_mta;	/* host name, or NULL */
	const char *diagnostic;	/* remote reply or our reason, or NULL */
	time_t last_attempt;	/* 0: unknown */
	time_t will_retry_until;	/* delayed only, 0: omit */
};

struct dsn_params {
	const char *reporting_mta;	/* our hostname */
	const char *boundary_seed;	/* unique text, e.g. the new QID */
	time_t now;
	enum dsn_action action;
	size_t max_returned;	/* bytes of the original returned at most */
};

/* Append the complete DSN message (headers and body, CRLF lines, no
 * dot-stuffing) to out.  The original message's headers are returned as
 * text/rfc822-headers (RFC 6522 allows either; headers keep DSNs small).
 * 0, or -EINVAL when rcpts is empty or the original is unusable. */
int dsn_build(struct buf *out, const struct queue_msg *orig,
    const char *orig_content, size_t orig_len, const struct dsn_rcpt *rcpts,
    size_t n, const struct dsn_params *p);
#endif
