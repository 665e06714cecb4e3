/* smtpd_bdat: BDAT (RFC 3030 CHUNKING) chunk accounting.  A chunk is
 * exactly count octets following the command line, possibly in the same
 * packet; they are passed through the content decoder in raw mode (bare
 * CR/LF policy, size limit) or skipped when the chunk is refused. */
#ifndef SMTPD_BDAT_H
#define SMTPD_BDAT_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "smtpd/smtpd_data.h"

struct smtpd_bdat {
	uint64_t left;		/* octets of the current chunk still to come */
	uint64_t chunk;		/* size of the current chunk */
	int last;		/* the current chunk is the LAST one */
};

/* A BDAT command announced count octets. */
void smtpd_bdat_start(struct smtpd_bdat *b, uint64_t count, int last);
/* Take chunk octets from in[0..len): decoded by d into out, or dropped if
 * d is NULL.  Returns the octets used (never past the chunk's end). */
size_t smtpd_bdat_feed(struct smtpd_bdat *b, struct smtpd_data *d,
    const char *in, size_t len, struct buf *out);
/* 1 once every octet of the current chunk has been taken. */
int smtpd_bdat_done(const struct smtpd_bdat *b);
#endif
