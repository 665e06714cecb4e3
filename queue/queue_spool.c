/* queue_spool: paths in the spool, blocking reads for tools and recovery,
 * and the creation of the directory tree.  Nothing here runs on the queue
 * writer's event loop after start-up. */
#include "queue/queue_spool.h"
#include "queue/queue_file.h"
#include "lib/fdio.h"
#include "lib/mem.h"
#include "lib/qid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The hashed directories searched by queue_find, in that order. */
static const char *const queue_hashed_dirs[] = {
	QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED, QUEUE_DIR_HOLD,
	QUEUE_DIR_CORRUPT,
};

int queue_spool_path(const char *state_dir, char *out, size_t n)
{
	int w = snprintf(out, n, "%s/spool", state_dir);

	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

int queue_path(const char *spool, const char *dir, uint64_t qid, char *out,
    size_t n)
{
	char id[QID_LEN + 1], xx[3];
	int w;

	qid_format(qid, id);
	qid_hash_dir(qid, xx);
	w = snprintf(out, n, "%s/%s/%s/%s", spool, dir, xx, id);
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

int queue_find(const char *spool, uint64_t qid, char *path, size_t n)
{
	struct stat st;

	for (size_t i = 0; i < ARRAY_LEN(queue_hashed_dirs); i++) {
		if (queue_path(spool, queue_hashed_dirs[i], qid, path, n) < 0)
			return -ENAMETOOLONG;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
	}
	return -ENOENT;
}

/* A regular file, read whole (sized up front from fstat). */
static int read_all(int fd, struct buf *data)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (buf_reserve(data, (size_t)st.st_size) < 0)
		return -EFBIG;
	return fdio_read_all(fd, data);
}

int queue_file_read(const char *path, struct buf *data, struct queue_msg *m)
{
	int fd, rc;

	memset(m, 0, sizeof(*m));
	buf_reset(data);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	rc = read_all(fd, data);
	close(fd);
	if (rc < 0)
		return rc;
	return queue_file_decode(data->data, data->len, m);
}

static int mkdir_p1(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int mkdir_hashed(const char *spool, const char *dir)
{
	char path[4096];
	int rc;

	for (unsigned i = 0; i < 256; i++) {
		if (snprintf(path, sizeof(path), "%s/%s/%02X", spool, dir, i) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		if ((rc = mkdir_p1(path)) < 0)
			return rc;
	}
	return 0;
}

int queue_spool_init(const char *spool)
{
	static const char *const flat[] = {
		QUEUE_DIR_JOURNAL, QUEUE_DIR_TMP, QUEUE_DIR_INCOMING,
		QUEUE_DIR_DEFERRED, QUEUE_DIR_HOLD, QUEUE_DIR_CORRUPT,
		QUEUE_DIR_POOL,
	};
	char path[4096];
	int rc;

	if ((rc = mkdir_p1(spool)) < 0)
		return rc;
	for (size_t i = 0; i < ARRAY_LEN(flat); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", spool, flat[i]) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		if ((rc = mkdir_p1(path)) < 0)
			return rc;
	}
	for (size_t i = 0; i < ARRAY_LEN(queue_hashed_dirs); i++)
		if ((rc = mkdir_hashed(spool, queue_hashed_dirs[i])) < 0)
			return rc;
	return 0;
}
