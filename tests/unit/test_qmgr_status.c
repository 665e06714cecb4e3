/* Unit tests for the status batch planning of queue/qmgr_status.c: writes
 * are ordered by file and offset, a field written twice in one batch keeps
 * only its last value (the earlier write is marked dup), and each file's
 * last write ends its group (its messages hear of the result then); a
 * group merged into one span write keeps the bytes between its fields.
 * The field format itself is queue_file_status_field's (tested with the
 * queue file). */
#include <criterion/criterion.h>

#include <string.h>

#include "queue/qmgr.h"
#include "queue/queue_file.h"

static void put(struct qm_swrite *w, size_t *n, int fd, size_t off,
    char status)
{
	memset(&w[*n], 0, sizeof(w[*n]));
	w[*n].fd = fd;
	w[*n].off = off;
	w[*n].seq = *n;
	queue_file_status_field(status, 0, w[*n].field);
	(*n)++;
}

Test(qmgr_status, plan_orders_dedups_and_ends_each_file_once)
{
	struct qm_swrite w[16];
	size_t n = 0;

	put(w, &n, 9, 300, 'D');
	put(w, &n, 7, 200, 'D');
	put(w, &n, 7, 100, 'P');
	put(w, &n, 9, 100, 'B');
	put(w, &n, 7, 200, 'B');	/* the same field again: this one wins */
	put(w, &n, 5, 50, 'D');
	cr_assert_eq(qm_status_plan(w, n), 3, "three files");
	static const int fds[] = { 5, 7, 7, 7, 9, 9 };
	static const size_t offs[] = { 50, 100, 200, 200, 100, 300 };
	static const int dups[] = { 0, 0, 1, 0, 0, 0 };
	static const int lasts[] = { 1, 0, 0, 1, 0, 1 };
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(w[i].fd, fds[i], "%zu", i);
		cr_assert_eq(w[i].off, offs[i], "%zu", i);
		cr_assert_eq(w[i].dup, dups[i], "%zu", i);
		cr_assert_eq(w[i].last, lasts[i], "%zu", i);
	}
	cr_assert_eq(w[3].field[0], 'B', "the later write of the field wins");
	cr_assert_eq(w[2].field[0], 'D');
}

Test(qmgr_status, plan_of_nothing_and_of_one)
{
	struct qm_swrite w[1];
	size_t n = 0;

	cr_assert_eq(qm_status_plan(w, 0), 0);
	put(w, &n, 3, 10, 'D');
	cr_assert_eq(qm_status_plan(w, n), 1);
	cr_assert_eq(w[0].last, 1);
	cr_assert_eq(w[0].dup, 0);
}

Test(qmgr_status, many_writes_keep_their_queueing_order_per_field)
{
	enum { N = 3000 };
	static struct qm_swrite w[N];
	size_t n = 0, files;

	for (size_t i = 0; i < N; i++)
		put(w, &n, (int)(i % 10), (i % 30) * 40, (char)("PDB"[i % 3]));
	files = qm_status_plan(w, n);
	cr_assert_eq(files, 10);
	for (size_t i = 1; i < n; i++) {
		cr_assert(w[i - 1].fd < w[i].fd || (w[i - 1].fd == w[i].fd &&
		    (w[i - 1].off < w[i].off || (w[i - 1].off == w[i].off &&
		    w[i - 1].seq < w[i].seq))));
		if (w[i - 1].fd == w[i].fd && w[i - 1].off == w[i].off)
			cr_assert(w[i - 1].dup && !w[i - 1].last);
	}
	cr_assert(!w[n - 1].dup && w[n - 1].last);
}

/* A file image with a status field at each of offs[], "x" elsewhere. */
static void image(char *img, size_t len, const size_t *offs, size_t n)
{
	memset(img, 'x', len);
	for (size_t i = 0; i < n; i++)
		queue_file_status_field('P', 0, img + offs[i]);
}

Test(qmgr_status, merge_patches_every_field_and_keeps_the_bytes_between)
{
	static const size_t offs[] = { 40, 100, 170 };
	char img[256], want[256], span[256];
	struct qm_swrite w[4];
	size_t n = 0, len = 170 + QUEUE_STATUS_LEN - 40;

	image(img, sizeof(img), offs, 3);
	memcpy(want, img, sizeof(img));
	put(w, &n, 4, 170, 'D');
	put(w, &n, 4, 40, 'B');
	put(w, &n, 4, 100, 'P');
	put(w, &n, 4, 40, 'D');		/* later: wins over the 'B' */
	cr_assert_eq(qm_status_plan(w, n), 1);
	memcpy(span, img + 40, len);
	qm_status_merge(w, n, span, len);
	queue_file_status_field('D', 0, want + 40);
	queue_file_status_field('P', 0, want + 100);
	queue_file_status_field('D', 0, want + 170);
	cr_assert(memcmp(span, want + 40, len) == 0);
	cr_assert_eq(w[0].span, span);
	cr_assert_eq(w[0].span_len, len);
	cr_assert_eq(w[0].off, 40, "the span starts at the first field");
	cr_assert(!w[0].dup);
	for (size_t i = 1; i < n; i++)
		cr_assert(w[i].dup, "%zu is in the span", i);
}
