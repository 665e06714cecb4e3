/* pop3d_wire: a stored message -> its RETR/TOP multi-line answer, streamed
 * in pieces of any size: LF becomes CRLF (a CRLF already there stays one,
 * also when split between pieces), lines starting with '.' are stuffed,
 * a final CRLF is added when the last line has none, then ".".  For TOP it
 * stops after the header, the blank line and n body lines.  The octets it
 * sends before stuffing equal maildir_wire_count's (the W= size). */
#ifndef POP3D_WIRE_H
#define POP3D_WIRE_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct pop3d_wire {
	int last_cr, at_bol, line_nonempty, in_body, done;
	long top;		/* body lines to send; -1: the whole message */
	unsigned long body_lines;
};

/* top: -1 for RETR, else TOP's line count. */
void pop3d_wire_init(struct pop3d_wire *w, long top);
/* Convert in[0..n) onto out; returns the input bytes used (fewer than n
 * only when TOP's lines are all sent: w->done is then set). */
size_t pop3d_wire_conv(struct pop3d_wire *w, const char *in, size_t n,
    struct buf *out);
/* The end: a CRLF if the message did not end with one, then ".\r\n". */
void pop3d_wire_end(struct pop3d_wire *w, struct buf *out);
#endif
