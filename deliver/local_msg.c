/* local_msg: trace headers, CRLF -> LF, sizes and loop detection for the
 * local agent; see local_msg.h.  Content comes from a queue file, which
 * the writer stored with CRLF endings; a stray CR or LF is kept as it is
 * (only the CRLF pair becomes LF), so the stored form never loses a byte
 * but the CR of a line ending. */
#include "deliver/local_msg.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

int local_msg_header(struct buf *out, const char *sender, const char *rcpt)
{
	if (buf_printf(out, "Return-Path: <%s>\nDelivered-To: %s\n", sender,
	    rcpt) < 0)
		return -ENOMEM;
	return 0;
}

uint64_t local_msg_lf_size(const char *content, size_t n)
{
	uint64_t crlf = 0;
	const char *p = content, *end = content + n;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p > content && p[-1] == '\r')
			crlf++;
		p++;
	}
	return (uint64_t)n - crlf;
}

size_t local_msg_cut(const char *content, size_t n, size_t off, size_t max)
{
	size_t end = n - off > max ? off + max : n;

	if (end < n && end > off + 1 && content[end - 1] == '\r' &&
	    content[end] == '\n')
		end--;
	return end;
}

size_t local_msg_lf(const char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;

	while (i < n) {
		const char *cr = memchr(in + i, '\r', n - i);
		size_t k = cr ? (size_t)(cr - (in + i)) : n - i;

		memcpy(out + o, in + i, k);
		o += k;
		i += k;
		if (i >= n)
			break;
		if (i + 1 < n && in[i + 1] == '\n')
			i++;		/* drop the CR of CRLF */
		else
			out[o++] = in[i++];
	}
	return o;
}

/* The value of a header line s[0..n) after its name and colon, trimmed
 * of blanks and one pair of angle brackets. */
static int value_is(const char *s, size_t n, size_t name_len,
    const char *rcpt)
{
	size_t b = name_len, e = n, rlen = strlen(rcpt);

	while (b < e && (s[b] == ' ' || s[b] == '\t'))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' ||
	    s[e - 1] == '\r'))
		e--;
	if (e - b >= 2 && s[b] == '<' && s[e - 1] == '>')
		b++, e--;
	return e - b == rlen && strncasecmp(s + b, rcpt, rlen) == 0;
}

static int starts(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n >= k && strncasecmp(s, name, k) == 0;
}

int local_msg_loop(const char *content, size_t n, const char *rcpt)
{
	unsigned received = 0;
	size_t off = 0;

	while (off < n) {
		const char *s = content + off;
		const char *nl = memchr(s, '\n', n - off);
		size_t len = nl ? (size_t)(nl - s) : n - off;

		if (len == 0 || (len == 1 && s[0] == '\r'))
			break;		/* end of the header */
		if (starts(s, len, "Received:") &&
		    ++received > LOCAL_RECEIVED_MAX)
			return 1;
		if (starts(s, len, "Delivered-To:") &&
		    value_is(s, len, strlen("Delivered-To:"), rcpt))
			return 1;
		off += len + 1;
	}
	return 0;
}
