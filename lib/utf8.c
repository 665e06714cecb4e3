/* utf8: strict UTF-8 validation; see utf8.h.  Table 3-7 of the Unicode
 * standard: the second byte's range depends on the first byte, which is
 * what rules out overlongs, surrogates and values past U+10FFFF. */
#include "lib/utf8.h"

static int in(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

size_t utf8_seq_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (in(u[0], 0xc2, 0xdf))
		len = 2;
	else if (in(u[0], 0xe0, 0xef))
		len = 3;
	else if (in(u[0], 0xf0, 0xf4))
		len = 4;
	else
		return 0;
	if (u[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (u[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (u[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (u[0] == 0xf4)
		hi = 0x8f;		/* > U+10FFFF */
	if (n < len || !in(u[1], lo, hi))
		return 0;
	for (size_t i = 2; i < len; i++)
		if (!in(u[i], 0x80, 0xbf))
			return 0;
	return len;
}

int utf8_valid(const char *s, size_t n)
{
	while (n > 0) {
		size_t k = utf8_seq_len(s, n);

		if (k == 0)
			return 0;
		s += k;
		n -= k;
	}
	return 1;
}
