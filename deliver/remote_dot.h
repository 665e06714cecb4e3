/* remote_dot: the DATA encoding of a queued message (RFC 5321 4.5.2):
 * every line that starts with '.' gets one more, a bare CR or bare LF is
 * sent as CRLF (so no receiver can be tricked into seeing an end of data
 * we did not mean: SMTP smuggling), a last line without its end gets one,
 * and ".\r\n" ends the data.  Done in pieces so a large message streams
 * through a bounded output buffer. */
#ifndef DELIVER_REMOTE_DOT_H
#define DELIVER_REMOTE_DOT_H
#include <stddef.h>

#include "lib/buf.h"

/* Encode src[*off..len) into out, stopping once about max bytes were
 * added; *off advances.  When the content is used up the terminator is
 * appended and 1 returned (call no more); otherwise 0.  -EMSGSIZE if out
 * has a limit and reached it. */
int remote_dot_stuff(const char *src, size_t len, size_t *off,
    struct buf *out, size_t max);
#endif
