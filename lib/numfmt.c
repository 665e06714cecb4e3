/* numfmt: see numfmt.h.  Measured reason: snprintf was about a twentieth
 * of the relay's user CPU, most of it for a handful of fixed-width
 * numbers per message. */
#include "lib/numfmt.h"

#include <string.h>

void fmt_hex(char *out, uint64_t v, unsigned width)
{
	static const char digits[] = "0123456789ABCDEF";

	for (unsigned i = width; i > 0; i--, v >>= 4)
		out[i - 1] = digits[v & 0xf];
	out[width] = '\0';
}

void fmt_dec(char *out, uint64_t v, unsigned width)
{
	for (unsigned i = width; i > 0; i--, v /= 10)
		out[i - 1] = (char)('0' + v % 10);
	out[width] = '\0';
}

size_t fmt_dec_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

size_t fmt_centi(char *out, uint64_t hundredths)
{
	size_t n = fmt_dec_u64(out, hundredths / 100);

	out[n++] = '.';
	fmt_dec(out + n, hundredths % 100, 2);
	return n + 2;
}
