/* sink_msgid: finds the Message-ID of a message in its header section.
 * Pure: called by the sink session on the decoded header bytes (CRLF
 * lines, up to the empty line); unit-tested on its own. */
#ifndef SINK_MSGID_H
#define SINK_MSGID_H
#include <stddef.h>

#define SINK_MSGID_MAX 998	/* longer IDs are cut (still counted) */

/* Length of the header section of p[0..len) including the empty line that
 * ends it, or 0 while it is incomplete. */
size_t sink_msgid_header_end(const char *p, size_t len);
/* Find the Message-ID field in the header section hdr[0..len): its value
 * (the <...> part if there is one, else the trimmed value, unfolded) is
 * copied to out[cap] NUL-terminated.  Returns its length, 0 if none. */
size_t sink_msgid_find(const char *hdr, size_t len, char *out, size_t cap);
#endif
