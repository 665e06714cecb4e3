/* loadgen_msg: builds the test messages of mta-loadgen.  Pure functions:
 * no clock, no pid, no I/O, so the unit tests pin every byte.  A message
 * is RFC 5322 (From, To, Subject, Date, Message-ID, blank line, a body of
 * CRLF lines of at most 78 bytes) whose size is exactly the requested one
 * when the headers fit (off by at most one line otherwise). */
#ifndef BENCH_LOADGEN_MSG_H
#define BENCH_LOADGEN_MSG_H
#include <stddef.h>

struct buf;

#define LOADGEN_LINE_MAX 78	/* bytes per body line, CRLF included */

struct loadgen_msg {
	unsigned long seq;	/* message number, unique in the run */
	long pid;
	long long start;	/* the run's start time (for the Message-ID) */
	const char *date;	/* the Date: value, RFC 5322 */
	const char *from;
	const char *to;		/* first recipient, for the To: header */
	size_t size;		/* total bytes wanted (headers + body) */
};

/* Append the message m (unstuffed, CRLF lines) to out.  0 or -errno. */
int loadgen_msg_build(struct buf *out, const struct loadgen_msg *m);
/* Append data dot-stuffed to out, then the final ".\r\n".  0 or -errno. */
int loadgen_msg_stuff(struct buf *out, const char *data, size_t len);
/* The n-th recipient address (n from 0) into out: "to" itself when rcpts
 * is 1 and domains 0, else "localN@domain" or "localN@dK.example.test".
 * 0, or -ENAMETOOLONG. */
int loadgen_msg_rcpt(char *out, size_t outlen, const char *to,
    unsigned n, unsigned rcpts, unsigned domains, unsigned long seq);
#endif
