/* smtpd_data: the message-content decoder for DATA and BDAT.  A pure byte
 * state machine fed arbitrary pieces of input: it finds the end of DATA
 * (only <CRLF>.<CRLF>, never <LF>.<LF>, <CR>.<CR> or <LF>.<CR><LF>), undoes
 * dot-stuffing, turns a bare LF or bare CR into CRLF (and remembers it, for
 * smtpd_bare_lf = reject), and counts the size against a limit.  Output is
 * appended to a caller's buffer; the decoder holds at most one byte back. */
#ifndef SMTPD_DATA_H
#define SMTPD_DATA_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* Modes (init flags). */
#define SMTPD_DATA_RAW 0x1		/* BDAT: no dots, no terminator */
#define SMTPD_DATA_REJECT_BARE 0x2	/* a bare CR/LF poisons the message */

/* Results (d->flags): once either is set, no more output is produced. */
#define SMTPD_DATA_TOOBIG 0x1		/* more than limit bytes */
#define SMTPD_DATA_BARE 0x2		/* bare CR or LF seen (reject mode) */

struct smtpd_data {
	unsigned mode;
	unsigned flags;
	int state;
	int done;		/* DATA: the terminator was consumed */
	int saw_bare;		/* any bare CR/LF, in either mode */
	uint64_t size;		/* decoded bytes, counted even past the limit */
	uint64_t limit;		/* 0: none */
};

/* Start decoding one message. */
void smtpd_data_init(struct smtpd_data *d, unsigned mode, uint64_t limit);
/* Decode in[0..len), appending content to out.  Returns the bytes used:
 * all of them, or (DATA mode) up to and including the terminator, after
 * which d->done is set and the rest of the input is the next command. */
size_t smtpd_data_feed(struct smtpd_data *d, const char *in, size_t len,
    struct buf *out);
/* BDAT LAST: flush a held-back CR and end the last line with CRLF. */
void smtpd_data_finish(struct smtpd_data *d, struct buf *out);
/* 1 if the message may be queued (not too big, not refused as bare). */
int smtpd_data_ok(const struct smtpd_data *d);
#endif
