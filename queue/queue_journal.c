/* queue_journal: record headers, the segment reader and the segment
 * listing (see queue_journal.h).  The reader trusts nothing in a record
 * until its length fits the segment and its CRC matches. */
#include "queue/queue_journal.h"
#include "queue/queue_spool.h"
#include "lib/crc32c.h"
#include "lib/fdio.h"
#include "lib/mem.h"
#include "lib/qid.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_le(char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (char)((v >> (8 * i)) & 0xff);
}

static uint64_t get_le(const char *p, int n)
{
	const unsigned char *u = (const unsigned char *)p;
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | u[i];
	return v;
}

void journal_rec_header(char out[JOURNAL_HDR_LEN], uint16_t type,
    uint64_t qid, size_t len, uint32_t payload_crc)
{
	memcpy(out, JOURNAL_MAGIC, 4);
	put_le(out + 4, type, 2);
	put_le(out + 6, 0, 2);
	put_le(out + 8, len, 4);
	put_le(out + 12, qid, 8);
	put_le(out + 20, crc32c(payload_crc, out, 20), 4);
}

void journal_reader_init(struct journal_reader *r, const char *data,
    size_t len)
{
	r->data = data;
	r->len = len;
	r->off = 0;
	r->torn = 0;
}

int journal_next(struct journal_reader *r, struct journal_rec *rec)
{
	const char *h = r->data + r->off;
	size_t rem = r->len - r->off, len;
	uint32_t crc;

	if (rem == 0)
		return 0;
	r->torn = 1;
	if (rem < JOURNAL_HDR_LEN || memcmp(h, JOURNAL_MAGIC, 4) != 0 ||
	    get_le(h + 6, 2) != 0)
		return 0;
	len = (size_t)get_le(h + 8, 4);
	if (len > rem - JOURNAL_HDR_LEN)
		return 0;
	crc = crc32c(crc32c(0, h + JOURNAL_HDR_LEN, len), h, 20);
	if (crc != (uint32_t)get_le(h + 20, 4))
		return 0;
	rec->type = (uint16_t)get_le(h + 4, 2);
	rec->qid = get_le(h + 12, 8);
	rec->payload = h + JOURNAL_HDR_LEN;
	rec->len = len;
	rec->off = r->off;
	r->off += JOURNAL_HDR_LEN + len;
	r->torn = 0;
	return 1;
}

int journal_append(int fd, uint16_t type, uint64_t qid, const void *p,
    size_t len)
{
	char h[JOURNAL_HDR_LEN];
	int rc;

	if (len > JOURNAL_REC_MAX)
		return -EMSGSIZE;
	journal_rec_header(h, type, qid, len, crc32c(0, p, len));
	if ((rc = fdio_write_all(fd, h, sizeof(h))) < 0)
		return rc;
	return fdio_write_all(fd, p, len);
}

void journal_seg_name(uint64_t segno, char out[17])
{
	qid_format(segno, out);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int journal_list(const char *spool, uint64_t **segs, size_t *n)
{
	char path[4096];
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*segs = NULL;
	*n = 0;
	if (snprintf(path, sizeof(path), "%s/%s", spool, QUEUE_DIR_JOURNAL) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((d = opendir(path)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		uint64_t v;

		if (qid_parse(de->d_name, &v) < 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*segs = xreallocarray(*segs, cap, sizeof(**segs));
		}
		(*segs)[(*n)++] = v;
	}
	closedir(d);
	if (*n > 1)
		qsort(*segs, *n, sizeof(**segs), cmp_u64);
	return 0;
}
