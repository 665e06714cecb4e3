/* remote_reply: the SMTP client's reply parser (RFC 5321 4.2), fed the
 * bytes a remote server sends, in whatever pieces they arrive.  Strict and
 * bounded: a line longer than REMOTE_REPLY_LINE_MAX, more lines than
 * REMOTE_REPLY_LINES_MAX, a bad code or a continuation with another code
 * is a protocol error.  CRLF or a bare LF ends a line.  The reply text is
 * kept as one printable line (for logs and DSNs), cut at REMOTE_TEXT_MAX. */
#ifndef DELIVER_REMOTE_REPLY_H
#define DELIVER_REMOTE_REPLY_H
#include <stddef.h>

#include "deliver/agent.h"

#define REMOTE_REPLY_LINE_MAX 2048	/* bytes of one line, CRLF included */
#define REMOTE_REPLY_LINES_MAX 200	/* lines of one reply */
#define REMOTE_TEXT_MAX AGENT_TEXT_MAX	/* bytes of the kept text */
#define REMOTE_DSN_MAX AGENT_DSN_MAX	/* "X.YYY.ZZZ" and NUL, with room */

struct remote_reply {
	int code;			/* 200..559 */
	unsigned nlines;
	char dsn[REMOTE_DSN_MAX];	/* enhanced code of line 1, "" if none */
	char text[REMOTE_TEXT_MAX + 1];	/* "CODE text text ...", printable */
	size_t textlen;
};

/* Called for every complete line of a reply: its text after "CODE-" or
 * "CODE " (n may be 0) and its number, 1 for the first. */
typedef void remote_reply_line_fn(void *arg, const char *text, size_t n,
    unsigned lineno);

struct remote_rparse {
	char line[REMOTE_REPLY_LINE_MAX];
	size_t len;			/* bytes in line */
	int complete;			/* r is a whole reply already handed out */
	struct remote_reply r;		/* the reply being read / just read */
	remote_reply_line_fn *line_fn;	/* optional */
	void *line_arg;
	const char *why;		/* after -EPROTO */
};

/* Start with no reply in progress (keeps line_fn and line_arg). */
void remote_reply_init(struct remote_rparse *rp);
/* Feed p[0..n).  1: rp->r holds a complete reply and *used bytes were
 * taken (feed the rest again); 0: all taken, more needed; -EPROTO: a
 * protocol violation (rp->why says which). */
int remote_reply_feed(struct remote_rparse *rp, const char *p, size_t n,
    size_t *used);
/* The enhanced status code at the start of text[0..n) ("5.1.1 ...")
 * whose class digit is cls, into out; 1 if found, else 0 and out "". */
int remote_reply_dsn(const char *text, size_t n, int cls,
    char out[REMOTE_DSN_MAX]);
#endif
