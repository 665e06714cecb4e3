/* queue_recover: start-up recovery (see queue_recover.h).  Order matters:
 * tmp/ is emptied first (nothing there was ever acknowledged as a file),
 * then each segment is replayed up to its torn tail, then incoming/ is
 * checked, then one syncfs makes every rewrite durable, and only then are
 * the replayed segments deleted.  Rewrites skip their own fsync: until the
 * syncfs the journal still holds them, so a crash just replays again. */
#include "queue/queue_recover.h"
#include "queue/queue_file.h"
#include "queue/queue_journal.h"
#include "queue/queue_spool.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/qid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const rec_dirs[] = {
	QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED, QUEUE_DIR_HOLD,
};

/* Write the image to tmp/QID and rename it over dest. */
static int rec_publish(const char *spool, uint64_t qid, const char *img,
    size_t len, const char *dest)
{
	char tmp[4096], id[QID_LEN + 1];
	int fd, rc;

	qid_format(qid, id);
	if (snprintf(tmp, sizeof(tmp), "%s/%s/%s", spool, QUEUE_DIR_TMP, id) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return -errno;
	rc = fdio_write_all(fd, img, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, dest) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* 1 if a valid file for qid exists (in dirs); else 0 with the path to
 * write in dest (the damaged file's, or incoming/). */
static int rec_lookup(const char *spool, uint64_t qid, char *dest, size_t n)
{
	struct buf data;
	int found = 0;

	buf_init(&data, 0);
	if (queue_path(spool, QUEUE_DIR_INCOMING, qid, dest, n) < 0)
		panic("spool path too long");
	for (size_t i = 0; i < ARRAY_LEN(rec_dirs) && !found; i++) {
		struct queue_msg m;
		char path[4096];
		int rc;

		if (queue_path(spool, rec_dirs[i], qid, path, sizeof(path)) < 0)
			panic("spool path too long");
		rc = queue_file_read(path, &data, &m);
		if (rc == -ENOENT)
			continue;
		if (rc == 0 && m.qid == qid) {
			found = 1;
		} else {
			/* Damaged: repair it where it is. */
			snprintf(dest, n, "%s", path);
		}
		queue_msg_free(&m);
	}
	buf_free(&data);
	return found;
}

static int rec_record(const char *spool, const struct journal_rec *r,
    struct queue_recover_stats *st)
{
	char dest[4096], id[QID_LEN + 1];
	struct queue_msg m;
	int rc;

	qid_format(r->qid, id);
	if (r->type != JOURNAL_REC_IMAGE ||
	    queue_file_decode(r->payload, r->len, &m) < 0 || m.qid != r->qid) {
		if (r->type == JOURNAL_REC_IMAGE)
			queue_msg_free(&m);
		log_warn("%s: journal record of type %u at offset %zu skipped",
		    id, r->type, r->off);
		st->bad++;
		return 0;
	}
	queue_msg_free(&m);
	st->records++;
	if (r->qid > st->max_qid)
		st->max_qid = r->qid;
	if (rec_lookup(spool, r->qid, dest, sizeof(dest))) {
		st->present++;
		return 0;
	}
	if ((rc = rec_publish(spool, r->qid, r->payload, r->len, dest)) < 0) {
		log_warn("%s: cannot recreate queue file %s: %s", id, dest,
		    strerror(-rc));
		return rc;
	}
	log_info("%s: queue file recreated from the journal", id);
	st->rewritten++;
	return 0;
}

static int rec_segment(const char *spool, uint64_t segno,
    struct queue_recover_stats *st)
{
	char path[4096], name[17];
	struct journal_reader rd;
	struct journal_rec r;
	struct stat sb;
	void *map = NULL;
	int fd, rc = 0;

	journal_seg_name(segno, name);
	snprintf(path, sizeof(path), "%s/%s/%s", spool, QUEUE_DIR_JOURNAL,
	    name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (sb.st_size > 0) {
		map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
		    0);
		if (map == MAP_FAILED) {
			rc = -errno;
			close(fd);
			return rc;
		}
	}
	close(fd);
	journal_reader_init(&rd, map, map ? (size_t)sb.st_size : 0);
	while (rc == 0 && journal_next(&rd, &r) == 1)
		rc = rec_record(spool, &r, st);
	if (rc == 0 && rd.torn) {
		log_info("journal segment %s: torn tail at offset %zu of %lld "
		    "ignored", name, rd.off, (long long)sb.st_size);
		st->torn++;
	}
	if (map != NULL)
		munmap(map, (size_t)sb.st_size);
	st->segments++;
	return rc;
}

/* Remove every regular file in tmp/. */
static int rec_clean_tmp(const char *spool, struct queue_recover_stats *st)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int dfd;

	snprintf(path, sizeof(path), "%s/%s", spool, QUEUE_DIR_TMP);
	if ((d = opendir(path)) == NULL)
		return -errno;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			st->tmp_removed++;
		else
			log_warn("cannot remove %s/%s: %s", path, de->d_name,
			    strerror(errno));
	}
	closedir(d);
	return 0;
}

/* Durability point: one syncfs for every rewrite, then drop segments. */
static int rec_finish(const char *spool, const uint64_t *segs, size_t nseg)
{
	char path[4096], name[17];
	int fd;

	if ((fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (syncfs(fd) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	close(fd);
	for (size_t i = 0; i < nseg; i++) {
		journal_seg_name(segs[i], name);
		snprintf(path, sizeof(path), "%s/%s/%s", spool,
		    QUEUE_DIR_JOURNAL, name);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("cannot remove journal segment %s: %s", path,
			    strerror(errno));
	}
	return 0;
}

static double rec_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int queue_recover(const char *spool, unsigned flags,
    struct queue_recover_stats *st)
{
	double t0 = rec_now_ms();
	uint64_t *segs = NULL;
	size_t nseg = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = queue_spool_init(spool)) < 0 ||
	    (rc = rec_clean_tmp(spool, st)) < 0 ||
	    (rc = journal_list(spool, &segs, &nseg)) < 0)
		goto out;
	for (size_t i = 0; i < nseg && rc == 0; i++)
		rc = rec_segment(spool, segs[i], st);
	if (rc == 0 && (flags & QUEUE_RECOVER_SCAN))
		rc = queue_recover_scan(spool, st);
	if (rc == 0)
		rc = rec_finish(spool, segs, nseg);
	if (rc == 0)
		qid_seen(st->max_qid);
out:
	free(segs);
	st->elapsed_ms = rec_now_ms() - t0;
	if (rc < 0) {
		log_warn("recovery failed: %s", strerror(-rc));
		return rc;
	}
	log_info("recovery: %u segments, %u records, %u files recreated, "
	    "%u intact, %u torn tails, %u bad records, %u tmp files removed, "
	    "%u checked, %u corrupt, %.1f ms", st->segments, st->records,
	    st->rewritten, st->present, st->torn, st->bad, st->tmp_removed,
	    st->scanned, st->corrupt, st->elapsed_ms);
	return 0;
}
