/* libFuzzer target for BDAT (RFC 3030) as the session runs it: command
 * lines through the real parsers (smtpd_cmd_parse, smtpd_cmd_bdat), the
 * announced octets counted by smtpd/smtpd_bdat.c and decoded in raw mode
 * by smtpd/smtpd_data.c, or dropped once the message has failed (too big,
 * bare CR/LF refused), as smtpd_txn does.  The input is what a client
 * sends after RCPT: "BDAT n [LAST]" lines, each followed by its n octets,
 * any other line is skipped, RSET drops the message.  The first byte
 * picks the bare line-end policy, the size limit and the piece size.
 * Checked: a chunk takes exactly its count of octets, never a byte of the
 * next command; feeding in pieces or whole gives the same chunks,
 * messages and verdicts; a message is transparent (its content is the
 * chunks' octets, plus a CRLF ending an unterminated last line) unless a
 * bare CR or LF was normalised, and never holds a bare CR or LF; the
 * decoder's size is what it produced.  Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "smtpd/smtpd_bdat.h"
#include "smtpd/smtpd_cmd.h"
#include "smtpd/smtpd_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_ 1000		/* a command line, as RFC 5321 allows */

struct run {
	unsigned mode;
	uint64_t limit;
	size_t step;
	struct smtpd_bdat bdat;
	struct smtpd_data dec;
	struct buf out;		/* decoded content */
	struct buf raw;		/* the chunks' octets as sent */
	int open, fail;
	unsigned chunks, msgs;
	uint64_t hash;		/* of every chunk and message, in order */
	size_t used;		/* input consumed */
};

static void mix(struct run *r, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		r->hash = (r->hash ^ b[i]) * 0x100000001b3ull;
}

static void msg_reset(struct run *r)
{
	buf_reset(&r->out);
	buf_reset(&r->raw);
	r->open = r->fail = 0;
}

static void check_crlf(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			abort();
		if (b->data[i] == '\r' && (i + 1 == b->len ||
		    b->data[i + 1] != '\n'))
			abort();
	}
}

/* BDAT LAST done: the verdict and the content as smtpd_txn would queue. */
static void msg_end(struct run *r)
{
	int ok;

	if (!r->fail)
		smtpd_data_finish(&r->dec, &r->out);
	ok = !r->fail && smtpd_data_ok(&r->dec);
	mix(r, &ok, sizeof(ok));
	if (ok) {
		const struct buf *raw = &r->raw;
		int crlf_end = raw->len >= 2 &&
		    memcmp(raw->data + raw->len - 2, "\r\n", 2) == 0;
		size_t want = raw->len + (raw->len > 0 && !crlf_end ? 2 : 0);

		check_crlf(&r->out);
		if (r->dec.size != r->out.len)
			abort();
		if (!r->dec.saw_bare && (r->out.len != want ||
		    (raw->len > 0 && memcmp(r->out.data, raw->data,
		    raw->len) != 0)))
			abort();
		mix(r, r->out.data, r->out.len);
	}
	r->msgs++;
	msg_reset(r);
}

static void chunk_end(struct run *r)
{
	mix(r, &r->bdat.chunk, sizeof(r->bdat.chunk));
	r->chunks++;
	if (r->bdat.last)
		msg_end(r);
}

/* The chunk's octets from in[0..n), in pieces; returns the bytes used. */
static size_t chunk_feed(struct run *r, const char *in, size_t n)
{
	size_t off = 0;

	while (off < n && !smtpd_bdat_done(&r->bdat)) {
		size_t k = n - off < r->step ? n - off : r->step;
		uint64_t left = r->bdat.left;
		size_t used;

		if (r->fail) {
			used = smtpd_bdat_feed(&r->bdat, NULL, in + off, k, NULL);
		} else {
			used = smtpd_bdat_feed(&r->bdat, &r->dec, in + off, k,
			    &r->out);
			if (!smtpd_data_ok(&r->dec)) {
				r->fail = 1;
				buf_reset(&r->out);
			}
		}
		if (used != (left < k ? left : k) ||
		    r->bdat.left != left - used)
			abort();
		buf_append(&r->raw, in + off, used);
		off += used;
	}
	if (smtpd_bdat_done(&r->bdat))
		chunk_end(r);
	return off;
}

/* One command line; 1 if a chunk follows. */
static int command(struct run *r, const char *line, size_t len)
{
	struct smtpd_cmd c;
	uint64_t count;
	int last;

	if (smtpd_cmd_parse(line, len, &c) != 0)
		return 0;
	if (c.verb == SMTPD_V_RSET)
		msg_reset(r);
	if (c.verb != SMTPD_V_BDAT ||
	    smtpd_cmd_bdat(c.arg, c.arglen, &count, &last) != 0)
		return 0;
	if (!r->open) {
		smtpd_data_init(&r->dec, r->mode, r->limit);
		r->open = 1;
	}
	smtpd_bdat_start(&r->bdat, count, last);
	if (count > 0)
		return 1;
	chunk_end(r);
	return 0;
}

static void run_all(struct run *r, const char *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		const char *lf = memchr(p + off, '\n', n - off);
		size_t len;

		if (lf == NULL || (size_t)(lf - (p + off)) >= LINE_MAX_)
			break;	/* the session would refuse the line */
		len = (size_t)(lf - (p + off));
		if (command(r, p + off, len > 0 && lf[-1] == '\r' ?
		    len - 1 : len)) {
			off += len + 1;
			off += chunk_feed(r, p + off, n - off);
		} else {
			off += len + 1;
		}
	}
	r->used = off;
}

static void run_init(struct run *r, uint8_t flags, size_t step)
{
	memset(r, 0, sizeof(*r));
	r->mode = SMTPD_DATA_RAW | (flags & 1 ? SMTPD_DATA_REJECT_BARE : 0);
	r->limit = flags & 2 ? 64 : 0;
	r->step = step;
	r->hash = 0xcbf29ce484222325ull;
	buf_init(&r->out, 0);
	buf_init(&r->raw, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, pieces;
	const char *p = (const char *)data + 1;

	if (size < 1)
		return 0;
	run_init(&whole, data[0], SIZE_MAX);
	run_init(&pieces, data[0], 1 + (data[0] >> 2));
	run_all(&whole, p, size - 1);
	run_all(&pieces, p, size - 1);
	if (whole.used != pieces.used || whole.hash != pieces.hash ||
	    whole.chunks != pieces.chunks || whole.msgs != pieces.msgs)
		abort();
	buf_free(&whole.out);
	buf_free(&whole.raw);
	buf_free(&pieces.out);
	buf_free(&pieces.raw);
	return 0;
}
