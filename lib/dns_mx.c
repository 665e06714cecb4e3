/* dns_mx: the pure part of MX handling (see dns.h): order a domain's MX
 * set by preference with a shuffle among equal preferences (RFC 5321
 * 5.1), and recognise a null MX (RFC 7505).  No I/O, so lib/dns.c and the
 * unit tests share it. */
#include "lib/dns.h"

#include <string.h>

void dns_mx_order(struct dns_mx *mx, size_t n, unsigned (*rnd)(void))
{
	struct dns_mx tmp;
	size_t i, j, k;

	for (i = 1; i < n; i++) {	/* stable insertion sort */
		tmp = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > tmp.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = tmp;
	}
	if (rnd == NULL)
		return;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && mx[j].pref == mx[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {	/* Fisher-Yates, [i, j) */
			size_t m = i + rnd() % (k - i + 1);

			tmp = mx[k];
			mx[k] = mx[m];
			mx[m] = tmp;
		}
	}
}

int dns_mx_is_null(const struct dns_mx *mx, size_t n)
{
	return n == 1 && (mx[0].host[0] == '\0' ||
	    strcmp(mx[0].host, ".") == 0);
}
