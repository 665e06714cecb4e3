/* libFuzzer target for the DATA/BDAT content decoder (smtpd/smtpd_data.c).
 * The first byte picks the mode and how the rest is split into pieces.
 * Invariants checked: the decoder never uses more bytes than it was given;
 * DATA ends only at <CRLF>.<CRLF> (the byte before the end is the LF of a
 * CRLF.CRLF run in the input); the output never holds a bare CR or LF; the
 * same input fed whole and in pieces decodes to the same bytes (when the
 * message is acceptable) and to the same verdict.
 * Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "smtpd/smtpd_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t decode(unsigned mode, const char *in, size_t len, size_t step,
    struct buf *out, int *done, int *ok)
{
	struct smtpd_data d;
	size_t off = 0;

	smtpd_data_init(&d, mode, 4096);
	while (off < len && !d.done) {
		size_t n = len - off < step ? len - off : step;
		size_t used = smtpd_data_feed(&d, in + off, n, out);

		if (used > n)
			abort();
		off += used;
		if (used < n && !d.done)
			abort();	/* only the terminator stops early */
	}
	if (mode & SMTPD_DATA_RAW)
		smtpd_data_finish(&d, out);
	*done = d.done;
	*ok = smtpd_data_ok(&d);
	return off;
}

static void check_crlf(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			abort();
		if (b->data[i] == '\r' && (i + 1 < b->len && b->data[i + 1] != '\n'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, pieces;
	unsigned mode;
	size_t step, used1, used2;
	const char *in;
	int done1, done2, ok1, ok2;

	if (size < 1)
		return 0;
	mode = data[0] & (SMTPD_DATA_RAW | SMTPD_DATA_REJECT_BARE);
	step = 1 + (data[0] >> 2);
	in = (const char *)data + 1;
	size--;
	buf_init(&whole, 0);
	buf_init(&pieces, 0);
	used1 = decode(mode, in, size, size ? size : 1, &whole, &done1, &ok1);
	used2 = decode(mode, in, size, step, &pieces, &done2, &ok2);
	if (used1 != used2 || done1 != done2 || ok1 != ok2)
		abort();
	/* A refused message's output is discarded, so it may stop anywhere. */
	if (ok1 && (whole.len != pieces.len || (whole.len > 0 &&
	    memcmp(whole.data, pieces.data, whole.len) != 0)))
		abort();
	/* The terminator is ".\r\n" at the start of the data or after a
	 * real CRLF: never after a bare LF or CR. */
	if (done1 && !(mode & SMTPD_DATA_RAW) &&
	    (used1 < 3 || memcmp(in + used1 - 3, ".\r\n", 3) != 0 ||
	    (used1 > 3 && (used1 < 5 ||
	    memcmp(in + used1 - 5, "\r\n", 2) != 0))))
		abort();
	if (!(mode & SMTPD_DATA_RAW) || done1)
		check_crlf(&whole);
	buf_free(&whole);
	buf_free(&pieces);
	return 0;
}
