/* remote_dot: dot-stuffing and line-end normalisation; see remote_dot.h.
 * The whole content is in memory (the mapped queue file), so the state
 * between pieces is only the offset: "at the start of a line" is read
 * from the byte before it.  A CRLF pair is always taken whole.  Lines are
 * found with memchr, so the common case (CRLF lines, few dots) costs
 * little more than the copy. */
#include "deliver/remote_dot.h"

#include <errno.h>
#include <string.h>

/* Position i starts a line (the previous byte ended one). */
static int line_start(const char *src, size_t i)
{
	return i == 0 || src[i - 1] == '\n' || src[i - 1] == '\r';
}

/* One line (or a piece of a long one) from src[i..lim): its bytes and a
 * CRLF for whatever ended it (CRLF, a bare CR, a bare LF).  Returns the
 * offset after it, or 0 when out is full. */
static size_t one_line(const char *src, size_t i, size_t lim, size_t len,
    struct buf *out)
{
	const char *nl = memchr(src + i, '\n', lim - i);
	size_t end = nl ? (size_t)(nl - src) : lim, next;
	const char *cr = memchr(src + i, '\r', end - i);

	if (cr != NULL) {
		end = (size_t)(cr - src);
		next = end + 1 < len && src[end + 1] == '\n' ? end + 2 : end + 1;
	} else if (nl != NULL) {
		next = end + 1;
	} else {
		return buf_append(out, src + i, end - i) < 0 ? 0 : end;
	}
	if (buf_append(out, src + i, end - i) < 0 ||
	    buf_append(out, "\r\n", 2) < 0)
		return 0;
	return next;
}

int remote_dot_stuff(const char *src, size_t len, size_t *off,
    struct buf *out, size_t max)
{
	size_t i = *off, start = out->len;

	while (i < len && out->len - start < max) {
		size_t lim = len - i > max ? i + max : len;

		if (line_start(src, i) && src[i] == '.' &&
		    buf_append(out, ".", 1) < 0)
			return -EMSGSIZE;
		if ((i = one_line(src, i, lim, len, out)) == 0)
			return -EMSGSIZE;
	}
	*off = i;
	if (i < len)
		return 0;
	if (len > 0 && src[len - 1] != '\n' && src[len - 1] != '\r' &&
	    buf_append(out, "\r\n", 2) < 0)
		return -EMSGSIZE;
	if (buf_append(out, ".\r\n", 3) < 0)
		return -EMSGSIZE;
	return 1;
}
