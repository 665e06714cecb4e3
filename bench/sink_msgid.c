/* sink_msgid: Message-ID extraction; see sink_msgid.h.  Lenient like a
 * real receiver: the field name is matched case-insensitively, folded
 * values are unfolded, and the first Message-ID field wins. */
#include "bench/sink_msgid.h"

#include <string.h>
#include <strings.h>

size_t sink_msgid_header_end(const char *p, size_t len)
{
	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;	/* no header at all */
	for (size_t i = 3; i < len; i++)
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' &&
		    p[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* The field value starting at p (after the colon) up to the end of its
 * last continuation line, unfolded into out.  Returns its length. */
static size_t unfold(const char *p, const char *end, char *out, size_t cap)
{
	size_t n = 0;

	while (p < end) {
		if (*p == '\r' || *p == '\n') {
			while (p < end && (*p == '\r' || *p == '\n'))
				p++;
			if (p >= end || (*p != ' ' && *p != '\t'))
				break;	/* not a continuation */
			continue;
		}
		if ((n > 0 || (*p != ' ' && *p != '\t')) && n + 1 < cap)
			out[n++] = *p;	/* leading blanks skipped */
		p++;
	}
	out[n] = '\0';
	return n;
}

/* Keep the <...> part, or trim blanks. */
static size_t pick(char *v, size_t n)
{
	char *lt = memchr(v, '<', n), *gt;
	size_t s = 0;

	if (lt != NULL && (gt = memchr(lt, '>', n - (size_t)(lt - v))) != NULL) {
		n = (size_t)(gt - lt) + 1;
		memmove(v, lt, n);
		v[n] = '\0';
		return n;
	}
	while (s < n && (v[s] == ' ' || v[s] == '\t'))
		s++;
	while (n > s && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	memmove(v, v + s, n - s);
	v[n - s] = '\0';
	return n - s;
}

size_t sink_msgid_find(const char *hdr, size_t len, char *out, size_t cap)
{
	static const char name[] = "message-id:";
	const char *p = hdr, *end = hdr + len;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) >= sizeof(name) - 1 &&
		    strncasecmp(p, name, sizeof(name) - 1) == 0)
			return pick(out, unfold(p + sizeof(name) - 1, end,
			    out, cap));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}
