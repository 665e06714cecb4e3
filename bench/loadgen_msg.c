/* loadgen_msg: the message builder of mta-loadgen (see loadgen_msg.h).
 * Called by loadgen_run once per message; pure, so the unit tests check
 * headers, Message-ID uniqueness, exact sizes and dot-stuffing.  The body
 * text cycles through printable ASCII so some lines start with '.', which
 * exercises the server's dot-unstuffing. */
#include <errno.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "bench/loadgen_msg.h"

static const char body_chars[] =
    "abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-";

/* One body line of len characters (plus CRLF), starting at pattern pos. */
static int body_line(struct buf *out, size_t len, size_t *pos)
{
	size_t i, j, nchars = sizeof(body_chars) - 1;
	int rc = buf_reserve(out, size_add(len, 2));
	char *p;

	if (rc < 0)
		return rc;
	p = out->data + out->len;
	for (i = 0, j = *pos % nchars; i < len; i++) {
		p[i] = body_chars[j];
		if (++j == nchars)
			j = 0;
	}
	if (len > 0 && p[len - 1] == ' ')
		p[len - 1] = '_';	/* no trailing space: relays strip it */
	p[len] = '\r';
	p[len + 1] = '\n';
	out->len += len + 2;
	*pos += 7;
	return 0;
}

/* Body lines adding up to exactly rem bytes (rem == 1 cannot be met: one
 * empty line, a byte over). */
static int body_fill(struct buf *out, size_t rem)
{
	size_t pos = 0;
	int rc = 0;

	while (rem > 0 && rc == 0) {
		size_t line;

		if (rem <= LOADGEN_LINE_MAX)
			line = rem >= 2 ? rem : 2;
		else if (rem - LOADGEN_LINE_MAX < 2)
			line = LOADGEN_LINE_MAX - 8;
		else
			line = LOADGEN_LINE_MAX;
		rc = body_line(out, line - 2, &pos);
		rem = rem > line ? rem - line : 0;
	}
	return rc;
}

int loadgen_msg_build(struct buf *out, const struct loadgen_msg *m)
{
	size_t start = out->len, hdr;
	int rc;

	rc = buf_printf(out,
	    "From: <%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: loadgen message %lu\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%lu.%ld.%lld@loadgen>\r\n"
	    "\r\n",
	    m->from, m->to, m->seq, m->date, m->seq, m->pid, m->start);
	if (rc < 0)
		return rc;
	hdr = out->len - start;
	if (m->size > hdr)
		rc = body_fill(out, m->size - hdr);
	return rc;
}

int loadgen_msg_stuff(struct buf *out, const char *data, size_t len)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;

		if (data[i] == '.' && (rc = buf_append(out, ".", 1)) < 0)
			return rc;
		if ((rc = buf_append(out, data + i, end - i)) < 0)
			return rc;
		i = end;
	}
	if (len > 0 && data[len - 1] != '\n' &&
	    (rc = buf_append(out, "\r\n", 2)) < 0)
		return rc;
	return buf_append(out, ".\r\n", 3);
}

int loadgen_msg_rcpt(char *out, size_t outlen, const char *to,
    unsigned n, unsigned rcpts, unsigned domains, unsigned long seq)
{
	const char *at = strrchr(to, '@');
	int llen = at ? (int)(at - to) : (int)strlen(to);
	const char *dom = at ? at + 1 : "localhost";
	int w;

	if (rcpts <= 1 && domains == 0)
		w = snprintf(out, outlen, "%s", to);
	else if (domains == 0)
		w = snprintf(out, outlen, "%.*s%u@%s", llen, to, n + 1, dom);
	else if (rcpts <= 1)
		w = snprintf(out, outlen, "%.*s@d%lu.example.test", llen, to,
		    (seq + n) % domains + 1);
	else
		w = snprintf(out, outlen, "%.*s%u@d%lu.example.test", llen, to,
		    n + 1, (seq * rcpts + n) % domains + 1);
	if (w < 0 || (size_t)w >= outlen)
		return -ENAMETOOLONG;
	return 0;
}
