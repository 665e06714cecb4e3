/* Unit tests for queue/queue_journal: append and read back, torn tails at
 * every byte, corrupt records, and the segment listing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "queue/queue_journal.h"
#include "queue/queue_spool.h"

#define NREC 5

/* A segment image with NREC records of varying sizes, built with the
 * blocking appender through a temp file. */
static void make_segment(struct buf *seg, size_t *ends)
{
	char path[] = "/tmp/test_queue_journal.XXXXXX";
	int fd = mkstemp(path);
	struct stat st;

	cr_assert(fd >= 0);
	unlink(path);
	for (int i = 0; i < NREC; i++) {
		size_t n = (size_t)i * 1000 + 1;
		char *p = xmalloc(n);

		memset(p, 'a' + i, n);
		cr_assert_eq(journal_append(fd, JOURNAL_REC_IMAGE, 100 + i, p,
		    n), 0);
		free(p);
		cr_assert_eq(fstat(fd, &st), 0);
		ends[i] = (size_t)st.st_size;
	}
	buf_init(seg, 0);
	buf_reserve(seg, (size_t)st.st_size);
	cr_assert_eq(pread(fd, seg->data, (size_t)st.st_size, 0),
	    (ssize_t)st.st_size);
	seg->len = (size_t)st.st_size;
	close(fd);
}

static int count_records(const char *data, size_t len, int *torn)
{
	struct journal_reader r;
	struct journal_rec rec;
	int n = 0;

	journal_reader_init(&r, data, len);
	while (journal_next(&r, &rec) == 1) {
		cr_assert_eq(rec.qid, 100u + (unsigned)n);
		cr_assert_eq(rec.type, JOURNAL_REC_IMAGE);
		cr_assert_eq(rec.len, (size_t)n * 1000 + 1);
		cr_assert_eq(rec.payload[0], 'a' + n);
		n++;
	}
	*torn = r.torn;
	return n;
}

Test(queue_journal, append_and_read_back)
{
	size_t ends[NREC];
	struct buf seg;
	int torn;

	make_segment(&seg, ends);
	cr_assert_eq(count_records(seg.data, seg.len, &torn), NREC);
	cr_assert_eq(torn, 0);
	cr_assert_eq(count_records(seg.data, 0, &torn), 0);
	cr_assert_eq(torn, 0);
	buf_free(&seg);
}

Test(queue_journal, every_torn_tail_stops_cleanly)
{
	size_t ends[NREC];
	struct buf seg;
	int torn;

	make_segment(&seg, ends);
	for (size_t n = 0; n <= seg.len; n++) {
		char *copy = xmalloc(n ? n : 1);
		int want = 0;

		memcpy(copy, seg.data, n);
		while (want < NREC && ends[want] <= n)
			want++;
		cr_assert_eq(count_records(copy, n, &torn), want,
		    "cut at %zu", n);
		cr_assert_eq(torn, n != (want ? ends[want - 1] : 0));
		free(copy);
	}
	buf_free(&seg);
}

Test(queue_journal, corrupt_record_stops_the_segment)
{
	size_t ends[NREC];
	struct buf seg;
	int torn;

	make_segment(&seg, ends);
	/* One flipped bit in every position of record 2. */
	for (size_t i = ends[1]; i < ends[2]; i += 7) {
		seg.data[i] ^= 0x10;
		cr_assert_eq(count_records(seg.data, seg.len, &torn), 2,
		    "flip at %zu", i);
		cr_assert_eq(torn, 1);
		seg.data[i] ^= 0x10;
	}
	/* Zeros after the last record (a preallocated tail) are a torn
	 * tail, not records. */
	buf_reserve(&seg, 100);
	memset(seg.data + seg.len, 0, 100);
	cr_assert_eq(count_records(seg.data, seg.len + 100, &torn), NREC);
	cr_assert_eq(torn, 1);
	buf_free(&seg);
}

Test(queue_journal, header_crc_covers_the_header)
{
	char h[JOURNAL_HDR_LEN], rec[JOURNAL_HDR_LEN + 3];
	struct journal_reader r;
	struct journal_rec out;

	journal_rec_header(h, JOURNAL_REC_IMAGE, 7, 3, 0);
	memcpy(rec, h, sizeof(h));
	memcpy(rec + JOURNAL_HDR_LEN, "abc", 3);
	/* The payload CRC given was wrong (0): the record is rejected. */
	journal_reader_init(&r, rec, sizeof(rec));
	cr_assert_eq(journal_next(&r, &out), 0);
	cr_assert_eq(r.torn, 1);
}

Test(queue_journal, listing_is_sorted_and_ignores_strangers)
{
	char dir[] = "/tmp/test_queue_journal.XXXXXX", spool[256], p[512];
	static const char *const names[] = { "000000000000000A",
	    "0000000000000002", "junk", "0000000000000010", ".hidden" };
	uint64_t *segs;
	size_t n;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	cr_assert_eq(queue_spool_init(spool), 0);
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/journal/%s", spool, names[i]);
		close(open(p, O_WRONLY | O_CREAT, 0600));
	}
	cr_assert_eq(journal_list(spool, &segs, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(segs[0], 2);
	cr_assert_eq(segs[1], 10);
	cr_assert_eq(segs[2], 16);
	free(segs);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
}
