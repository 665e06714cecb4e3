/* Unit tests for lib/crc32c.c: the standard check value, the RFC 3720
 * (iSCSI) vectors, incremental use, and agreement with a bitwise reference
 * at every length and alignment (the slice-by-8 path and its tail). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "lib/crc32c.h"

static uint32_t crc_ref(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

Test(crc32c, check_value_of_123456789)
{
	cr_assert_eq(crc32c(0, "123456789", 9), 0xE3069283u);
}

Test(crc32c, empty_input_leaves_the_crc)
{
	cr_assert_eq(crc32c(0, "", 0), 0);
	cr_assert_eq(crc32c(0xE3069283u, NULL, 0), 0xE3069283u);
}

Test(crc32c, rfc3720_vectors)
{
	unsigned char b[32];

	memset(b, 0, sizeof(b));
	cr_assert_eq(crc32c(0, b, 32), 0x8A9136AAu);
	memset(b, 0xff, sizeof(b));
	cr_assert_eq(crc32c(0, b, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	cr_assert_eq(crc32c(0, b, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)(31 - i);
	cr_assert_eq(crc32c(0, b, 32), 0x113FDB5Cu);
}

Test(crc32c, incremental_equals_one_shot)
{
	const char *s = "The quick brown fox jumps over the lazy dog, twice over.";
	size_t n = strlen(s);
	uint32_t whole = crc32c(0, s, n);

	for (size_t cut = 0; cut <= n; cut++)
		cr_assert_eq(crc32c(crc32c(0, s, cut), s + cut, n - cut), whole,
		    "cut at %zu", cut);
}

Test(crc32c, matches_bitwise_reference_at_every_length_and_alignment)
{
	unsigned char buf[300];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= 280; n++)
			cr_assert_eq(crc32c(0, buf + off, n),
			    crc_ref(0, buf + off, n), "off %zu len %zu", off, n);
}

Test(crc32c, hardware_and_table_versions_agree)
{
	unsigned char buf[4096];
	uint32_t x = 777;

	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n += 37)
			cr_assert_eq(crc32c(5, buf + off, n),
			    crc32c_sw(5, buf + off, n), "off %zu len %zu", off, n);
}
