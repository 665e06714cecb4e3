/* smtpd_data: DATA/BDAT content decoding; see smtpd_data.h.  The state
 * says where we are relative to a line start, and whether that line start
 * came from a real CRLF: only a "." line that begins after a real CRLF and
 * ends with a real CRLF ends DATA (SMTP smuggling, CVE-2023-51764).  Runs
 * of ordinary bytes are copied in one append, so the common case is a
 * memchr-speed scan. */
#include "smtpd/smtpd_data.h"
#include "lib/log.h"

#include <string.h>

enum {
	S_BOL_REAL,	/* line start after a real CRLF (or data start) */
	S_BOL_SOFT,	/* line start after a bare CR or LF */
	S_MID,		/* inside a line */
	S_CR,		/* a CR is held back: CRLF or bare CR? */
	S_DOT_REAL,	/* "." at a real line start is held back */
	S_DOT_SOFT,	/* "." at a soft line start is held back */
	S_DOT_REAL_CR,	/* CRLF "." CR: LF next ends DATA */
	S_DOT_SOFT_CR,	/* bare-break "." CR */
};

void smtpd_data_init(struct smtpd_data *d, unsigned mode, uint64_t limit)
{
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->limit = limit;
	d->state = S_BOL_REAL;
}

int smtpd_data_ok(const struct smtpd_data *d)
{
	return d->flags == 0;
}

static void emit(struct smtpd_data *d, struct buf *out, const char *p,
    size_t n)
{
	if (__builtin_add_overflow(d->size, n, &d->size))
		d->size = UINT64_MAX;
	if (d->limit != 0 && d->size > d->limit)
		d->flags |= SMTPD_DATA_TOOBIG;
	if (d->flags == 0 && buf_append(out, p, n) < 0)
		panic("data output buffer limit");
}

/* A bare CR or LF was seen: it becomes a line break in either mode. */
static void bare(struct smtpd_data *d)
{
	d->saw_bare = 1;
	if (d->mode & SMTPD_DATA_REJECT_BARE)
		d->flags |= SMTPD_DATA_BARE;
}

/* Index of the first CR or LF in p[0..n), or n; a word at a time (a
 * byte of x is zero iff (x - 0x01..) & ~x & 0x80.. has its high bit). */
static size_t find_eol(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t highs = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, cr, lf;

		memcpy(&w, p + i, 8);
		cr = w ^ (ones * '\r');
		lf = w ^ (ones * '\n');
		if (((cr - ones) & ~cr & highs) | ((lf - ones) & ~lf & highs))
			break;
	}
	while (i < n && p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
}

/* Inside a line: copy the run up to the next CR/LF; returns bytes used. */
static size_t run_mid(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out)
{
	size_t j = find_eol(in, len);

	if (j > 0)
		emit(d, out, in, j);
	if (j == len)
		return j;
	if (in[j] == '\r') {
		d->state = S_CR;
	} else {
		bare(d);
		emit(d, out, "\r\n", 2);
		d->state = S_BOL_SOFT;
	}
	return j + 1;
}

/* One step from a held-back state; returns bytes used (0: reprocess). */
static size_t step_held(struct smtpd_data *d, char c, struct buf *out)
{
	int real = d->state == S_DOT_REAL || d->state == S_DOT_REAL_CR;

	switch (d->state) {
	case S_CR:
		if (c == '\n') {
			emit(d, out, "\r\n", 2);
			d->state = S_BOL_REAL;
			return 1;
		}
		bare(d);
		emit(d, out, "\r\n", 2);
		d->state = S_BOL_SOFT;
		return 0;
	case S_DOT_REAL:
	case S_DOT_SOFT:
		if (c == '\r') {
			d->state = real ? S_DOT_REAL_CR : S_DOT_SOFT_CR;
			return 1;
		}
		if (c == '\n') {	/* "." ended by a bare LF: content */
			bare(d);
			emit(d, out, ".\r\n", 3);
			d->state = S_BOL_SOFT;
			return 1;
		}
		d->state = S_MID;	/* a stuffed dot: drop it */
		return 0;
	case S_DOT_REAL_CR:
	case S_DOT_SOFT_CR:
		if (c == '\n' && real) {
			d->done = 1;
			return 1;
		}
		if (c == '\n') {	/* soft "." line, real CRLF: content */
			emit(d, out, ".\r\n", 3);
			d->state = S_BOL_REAL;
			return 1;
		}
		bare(d);		/* "." then a bare CR */
		emit(d, out, ".\r\n", 3);
		d->state = S_BOL_SOFT;
		return 0;
	default:
		panic("data decoder state %d", d->state);
	}
}

size_t smtpd_data_feed(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out)
{
	int raw = d->mode & SMTPD_DATA_RAW;
	size_t i = 0;

	while (i < len && !d->done) {
		switch (d->state) {
		case S_BOL_REAL:
		case S_BOL_SOFT:
			if (!raw && in[i] == '.') {
				d->state = d->state == S_BOL_REAL ?
				    S_DOT_REAL : S_DOT_SOFT;
				i++;
			} else {
				d->state = S_MID;
			}
			break;
		case S_MID:
			i += run_mid(d, in + i, len - i, out);
			break;
		default:
			i += step_held(d, in[i], out);
			break;
		}
	}
	return i;
}

void smtpd_data_finish(struct smtpd_data *d, struct buf *out)
{
	if (d->state == S_CR) {
		bare(d);
		emit(d, out, "\r\n", 2);
	} else if (d->state == S_MID) {
		emit(d, out, "\r\n", 2);
	}
	d->state = S_BOL_REAL;
}
