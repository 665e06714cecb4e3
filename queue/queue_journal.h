/* queue_journal: the queue writer's journal, segments spool/journal/SEGNO
 * (16 hex digits, increasing).  A segment is a sequence of records: a
 * 24-byte header (magic "MTJ1", type, flags, payload length, queue ID,
 * CRC-32C over the payload then the header's first 20 bytes) and the
 * payload (for JOURNAL_REC_IMAGE: a complete queue file image).  Appends are
 * made durable by one fdatasync per group; readers stop at the first torn
 * or corrupt record, which is where the last crash cut the segment. */
#ifndef QUEUE_QUEUE_JOURNAL_H
#define QUEUE_QUEUE_JOURNAL_H
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAGIC "MTJ1"
#define JOURNAL_HDR_LEN 24
#define JOURNAL_REC_MAX 0xffffffffu	/* payload bytes */

/* Record types; new ones are added at the end. */
#define JOURNAL_REC_IMAGE 1		/* payload: a queue file image */

struct journal_rec {
	uint16_t type;
	uint64_t qid;
	const char *payload;
	size_t len;
	size_t off;		/* offset of the record in the segment */
};

struct journal_reader {
	const char *data;
	size_t len;
	size_t off;
	int torn;		/* stopped before the end: torn/corrupt tail */
};

/* Fill the header of a record whose payload has CRC-32C payload_crc. */
void journal_rec_header(char out[JOURNAL_HDR_LEN], uint16_t type,
    uint64_t qid, size_t len, uint32_t payload_crc);
/* Iterate over a segment image held in memory. */
void journal_reader_init(struct journal_reader *r, const char *data,
    size_t len);
/* 1 and the next valid record, 0 at the end or at a torn record. */
int journal_next(struct journal_reader *r, struct journal_rec *rec);
/* Blocking append of one record at fd's position (tools and tests). */
int journal_append(int fd, uint16_t type, uint64_t qid, const void *p,
    size_t len);
/* The file name of segment segno into out[17]. */
void journal_seg_name(uint64_t segno, char out[17]);
/* Every segment number in spool/journal, ascending (blocking); *segs is
 * allocated.  Other names are ignored.  0 or -errno. */
int journal_list(const char *spool, uint64_t **segs, size_t *n);
#endif
