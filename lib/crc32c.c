/* crc32c: table-driven slice-by-8 CRC-32C; see crc32c.h. */
#include "lib/crc32c.h"

#include <string.h>

static uint32_t crc_tab[8][256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^
			    crc_tab[0][crc_tab[t - 1][i] & 0xff];
	crc_ready = 1;
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		w ^= crc;
		crc = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^
		    crc_tab[5][(w >> 16) & 0xff] ^ crc_tab[4][(w >> 24) & 0xff] ^
		    crc_tab[3][(w >> 32) & 0xff] ^ crc_tab[2][(w >> 40) & 0xff] ^
		    crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
		s += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_tab[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
