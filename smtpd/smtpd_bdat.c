/* smtpd_bdat: BDAT chunk accounting; see smtpd_bdat.h.  The counting is
 * separate from the session so that "how many octets belong to this chunk"
 * is decided in one place: whatever follows them is the next command. */
#include "smtpd/smtpd_bdat.h"
#include "lib/log.h"

void smtpd_bdat_start(struct smtpd_bdat *b, uint64_t count, int last)
{
	b->left = count;
	b->chunk = count;
	b->last = last;
}

size_t smtpd_bdat_feed(struct smtpd_bdat *b, struct smtpd_data *d,
    const char *in, size_t len, struct buf *out)
{
	size_t n = len;

	if ((uint64_t)n > b->left)
		n = (size_t)b->left;
	if (n > 0 && d != NULL && smtpd_data_feed(d, in, n, out) != n)
		panic("raw decoder left chunk octets");
	b->left -= n;
	return n;
}

int smtpd_bdat_done(const struct smtpd_bdat *b)
{
	return b->left == 0;
}
