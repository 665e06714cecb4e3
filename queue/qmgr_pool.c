/* qmgr_pool: finished queue files go to spool/pool/ instead of being
 * unlinked, and the writer overwrites them for new messages
 * (qwriter_pool.c).  Why: creating a file costs ext4 an inode search, and
 * on a file system without a journal that search skips every inode freed
 * in the last minute or more (recently_deleted), so under steady churn it
 * became the writer's largest cost (measured: 60% of all CPU at c=50).
 * Reusing inodes avoids it.  The pool is bounded in files (QM_POOL_MAX,
 * recounted at most once a second when it seems full) and only files of
 * at most QM_POOL_FILE_MAX enter it, so it holds at most 1 GiB of disk
 * (80 MiB of 5 KiB messages).  The bound must hold a burst: finished
 * files wait for the writer's watermark, which moves once a checkpoint,
 * so a second's deliveries arrive at once.  With room for only 4096,
 * a third of them were unlinked at 4,500 msg/s and the writer, its pool
 * empty before the next burst, created files again (measured: 0.03 ms
 * of CPU per 10-recipient message). */
#include "queue/qmgr.h"
#include "queue/queue_spool.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

void qm_pool_open(struct qm *qm)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", qm->spool,
	    QUEUE_DIR_POOL) >= (int)sizeof(path))
		fatalx("state_dir too long");
	qm->pool_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qm->pool_fd < 0)
		fatal("open %s", path);
	qm->pool_room = 0;
	qm->pool_counted = 0;
}

/* Files in pool/ now (the writer takes them away concurrently, so this
 * is an estimate that is never too low for long). */
static size_t pool_count(struct qm *qm)
{
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(qm->pool_fd)) < 0)
		return QM_POOL_MAX;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return QM_POOL_MAX;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && n < QM_POOL_MAX)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int pool_has_room(struct qm *qm)
{
	time_t now;

	if (qm->pool_room > 0)
		return 1;
	now = qm_now();
	if (now == qm->pool_counted)
		return 0;
	qm->pool_counted = now;
	qm->pool_room = QM_POOL_MAX - pool_count(qm);
	return qm->pool_room > 0;
}

int qm_pool_dispose(struct qm *qm, const struct qm_fin *f, const char *rel,
    const char *id)
{
	if (f->reuse && pool_has_room(qm)) {
		if (renameat(qm->dirfd[f->dir], rel, qm->pool_fd, id) == 0) {
			qm->pool_room--;
			return 0;
		}
		if (errno == ENOENT)
			return -ENOENT;
		/* Any other failure: fall back to unlinking. */
	}
	return unlinkat(qm->dirfd[f->dir], rel, 0) == 0 ? 0 : -errno;
}
