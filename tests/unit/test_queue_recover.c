/* Unit tests for queue/queue_recover: crash scenarios of the commit path
 * rebuilt in a temp spool -- after the journal sync but before publishing,
 * after publishing but before the checkpoint, a half-written tmp file, a
 * partial queue file, a corrupt file the journal does not know, a torn
 * journal tail -- and idempotency (recovering twice changes nothing). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/qid.h"
#include "queue/queue_file.h"
#include "queue/queue_journal.h"
#include "queue/queue_recover.h"
#include "queue/queue_spool.h"

#define NMSG 6

static char dir[64], spool[128];
static struct buf images[NMSG];
static uint64_t qids[NMSG];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_queue_recover.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	cr_assert_eq(queue_spool_init(spool), 0);
	for (int i = 0; i < NMSG; i++) {
		struct queue_rcpt r = { (char *)"bob@example.test", 'P', 0, 0 };
		char content[64];
		struct queue_msg m = { 0 };

		snprintf(content, sizeof(content), "Subject: %d\r\n\r\nbody\r\n",
		    i);
		qids[i] = 0x0600000000000000ull + ((uint64_t)i << 12) + 17;
		m.qid = qids[i];
		m.arrival_us = 1;
		m.origin = (char *)"smtp";
		m.client = (char *)"127.0.0.1";
		m.helo = (char *)"h";
		m.uid = 1;
		m.sender = (char *)"a@example.test";
		m.body = (char *)"7BIT";
		m.rcpts = &r;
		m.nrcpt = 1;
		m.content = content;
		m.content_len = strlen(content);
		buf_init(&images[i], 0);
		cr_assert_eq(queue_file_encode(&m, &images[i]), 0);
	}
}

static void teardown(void)
{
	char cmd[128];

	for (int i = 0; i < NMSG; i++)
		buf_free(&images[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(queue_recover, .init = setup, .fini = teardown);

static void write_file(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert(fd >= 0, "%s", path);
	cr_assert_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/* Journal segment segno holding messages [from, to), the last one cut to
 * cut bytes if cut > 0. */
static void write_segment(uint64_t segno, int from, int to, size_t cut)
{
	char path[256], name[17];
	int fd;

	journal_seg_name(segno, name);
	snprintf(path, sizeof(path), "%s/journal/%s", spool, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	for (int i = from; i < to; i++)
		cr_assert_eq(journal_append(fd, JOURNAL_REC_IMAGE, qids[i],
		    images[i].data, images[i].len), 0);
	if (cut > 0) {
		struct stat st;

		cr_assert_eq(fstat(fd, &st), 0);
		cr_assert_eq(ftruncate(fd, st.st_size - (off_t)cut), 0);
	}
	close(fd);
}

static void publish(int i, const char *where)
{
	char path[256];

	cr_assert_eq(queue_path(spool, where, qids[i], path, sizeof(path)), 0);
	write_file(path, images[i].data, images[i].len);
}

/* 1 if message i is in where/ with exactly its image. */
static int has_file(int i, const char *where)
{
	char path[256];
	struct buf data;
	struct queue_msg m;
	int ok;

	cr_assert_eq(queue_path(spool, where, qids[i], path, sizeof(path)), 0);
	buf_init(&data, 0);
	ok = queue_file_read(path, &data, &m) == 0 &&
	    data.len == images[i].len &&
	    memcmp(data.data, images[i].data, data.len) == 0;
	if (ok)
		queue_msg_free(&m);
	buf_free(&data);
	return ok;
}

static int count_dir(const char *sub)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", spool, sub);
	cr_assert_not_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void recover(struct queue_recover_stats *st)
{
	cr_assert_eq(queue_recover(spool, QUEUE_RECOVER_SCAN, st), 0);
	cr_assert_eq(count_dir("journal"), 0);
	cr_assert_eq(count_dir("tmp"), 0);
}

Test(queue_recover, empty_spool)
{
	struct queue_recover_stats st;

	recover(&st);
	cr_assert_eq(st.segments + st.records + st.rewritten + st.corrupt, 0);
}

Test(queue_recover, crash_after_journal_sync_before_publish)
{
	struct queue_recover_stats st;

	write_segment(1, 0, 3, 0);
	write_segment(2, 3, NMSG, 0);
	recover(&st);
	cr_assert_eq(st.segments, 2);
	cr_assert_eq(st.records, NMSG);
	cr_assert_eq(st.rewritten, NMSG);
	for (int i = 0; i < NMSG; i++)
		cr_assert(has_file(i, "incoming"), "message %d", i);
	cr_assert_gt(qid_next(), qids[NMSG - 1]);
}

Test(queue_recover, crash_after_publish_before_checkpoint)
{
	struct queue_recover_stats st;
	char path[256];
	struct stat before, after;

	write_segment(1, 0, NMSG, 0);
	for (int i = 0; i < NMSG; i++)
		publish(i, i == 2 ? "deferred" : "incoming");
	cr_assert_eq(queue_path(spool, "incoming", qids[0], path,
	    sizeof(path)), 0);
	cr_assert_eq(stat(path, &before), 0);
	recover(&st);
	cr_assert_eq(st.present, NMSG);
	cr_assert_eq(st.rewritten, 0);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_eq(before.st_ino, after.st_ino);	/* left alone */
	cr_assert(has_file(2, "deferred"));
	cr_assert_not(has_file(2, "incoming"));	/* no duplicate */
}

Test(queue_recover, partial_published_file_is_rewritten)
{
	struct queue_recover_stats st;
	char path[256];

	write_segment(1, 0, 2, 0);
	publish(0, "incoming");
	cr_assert_eq(queue_path(spool, "incoming", qids[1], path,
	    sizeof(path)), 0);
	write_file(path, images[1].data, images[1].len / 2);	/* torn */
	recover(&st);
	cr_assert_eq(st.rewritten, 1);
	cr_assert_eq(st.present, 1);
	cr_assert_eq(st.corrupt, 0);
	cr_assert(has_file(0, "incoming"));
	cr_assert(has_file(1, "incoming"));
}

Test(queue_recover, half_written_tmp_file_is_removed)
{
	struct queue_recover_stats st;
	char path[256], id[QID_LEN + 1];

	qid_format(qids[0], id);
	snprintf(path, sizeof(path), "%s/tmp/%s", spool, id);
	write_file(path, images[0].data, 10);
	recover(&st);
	cr_assert_eq(st.tmp_removed, 1);
	cr_assert_not(has_file(0, "incoming"));
}

Test(queue_recover, corrupt_file_not_in_journal_goes_to_corrupt)
{
	struct queue_recover_stats st;
	char path[256];

	publish(3, "incoming");
	publish(4, "incoming");
	cr_assert_eq(queue_path(spool, "incoming", qids[4], path,
	    sizeof(path)), 0);
	write_file(path, images[4].data, images[4].len - 1);
	recover(&st);
	cr_assert_eq(st.scanned, 2);
	cr_assert_eq(st.corrupt, 1);
	cr_assert(has_file(3, "incoming"));
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(queue_find(spool, qids[4], path, sizeof(path)), 0);
	cr_assert(strstr(path, "/corrupt/") != NULL, "%s", path);
}

Test(queue_recover, torn_journal_tail_keeps_earlier_records)
{
	struct queue_recover_stats st;

	write_segment(1, 0, 4, 5);	/* the 4th record lost 5 bytes */
	recover(&st);
	cr_assert_eq(st.torn, 1);
	cr_assert_eq(st.records, 3);
	for (int i = 0; i < 3; i++)
		cr_assert(has_file(i, "incoming"));
	cr_assert_not(has_file(3, "incoming"));
}

Test(queue_recover, recovery_is_idempotent)
{
	struct queue_recover_stats st1, st2;
	char cmd[512];

	write_segment(1, 0, NMSG, 3);
	publish(0, "incoming");
	publish(5, "hold");
	recover(&st1);
	snprintf(cmd, sizeof(cmd), "cd '%s' && find spool -type f | sort | "
	    "xargs md5sum > state1; find spool | sort > tree1", dir);
	cr_assert_eq(system(cmd), 0);
	recover(&st2);
	cr_assert_eq(st2.rewritten + st2.corrupt + st2.records, 0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && find spool -type f | sort | "
	    "xargs md5sum > state2; find spool | sort > tree2; "
	    "cmp -s state1 state2 && cmp -s tree1 tree2", dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(st1.rewritten, NMSG - 2);	/* 1..4; 0 present, 5 torn */
	cr_assert(has_file(5, "hold"));
}

Test(queue_recover, crash_during_recovery_then_again)
{
	struct queue_recover_stats st;
	char path[256], id[QID_LEN + 1];

	/* A first recovery died after writing tmp/ and half of a rename
	 * target: the journal is still there, so a second run completes. */
	write_segment(7, 0, NMSG, 0);
	qid_format(qids[1], id);
	snprintf(path, sizeof(path), "%s/tmp/%s", spool, id);
	write_file(path, images[1].data, images[1].len);
	publish(0, "incoming");
	recover(&st);
	for (int i = 0; i < NMSG; i++)
		cr_assert(has_file(i, "incoming"));
	cr_assert_eq(st.tmp_removed, 1);
}

Test(queue_recover, stray_names_in_incoming_are_quarantined)
{
	struct queue_recover_stats st;
	char path[256];

	snprintf(path, sizeof(path), "%s/incoming/00/not-a-qid", spool);
	write_file(path, "x", 1);
	publish(1, "incoming");
	recover(&st);
	cr_assert_eq(st.corrupt, 1);
	snprintf(path, sizeof(path), "%s/corrupt/not-a-qid", spool);
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert(has_file(1, "incoming"));
}
