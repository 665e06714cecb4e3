/* crc32c: CRC-32C (Castagnoli); see crc32c.h.  On x86-64 with SSE4.2 the
 * CRC32 instruction does 8 bytes per cycle or so; elsewhere a table-driven
 * slice-by-8.  Both give the same bits (unit-tested against each other).
 * The choice and the tables are made once, before main, so threads never
 * race on them. */
#include "lib/crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

static uint32_t crc_tab[8][256];
static int crc_hw;

__attribute__((constructor)) static void crc_init(void)
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
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

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

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw_run(uint32_t crc,
    const unsigned char *s, size_t n)
{
	uint64_t c = ~crc;

	while (n >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		c = _mm_crc32_u64(c, w);
		s += 8;
		n -= 8;
	}
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *s++);
	return ~(uint32_t)c;
}
#endif

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
#if defined(__x86_64__)
	if (crc_hw)
		return crc_hw_run(crc, p, n);
#endif
	return crc32c_sw(crc, p, n);
}
