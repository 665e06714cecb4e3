/* qwriter_pool: new queue files are written over files the queue manager
 * put in spool/pool/ (qmgr_pool.c explains why: creating a file costs
 * an inode search that grows with churn).  Names are listed in batches
 * with one readdir pass when the list runs out, skipping the files still
 * being overwritten (they stay in pool/ until their rename); an empty
 * pool/ is looked
 * at again only after POOL_RETRY_MS, and meanwhile files are created in
 * tmp/ as before.  A pool file is garbage, never mail: a crash while one
 * is being overwritten leaves it in pool/, where recovery ignores it. */
#include "queue/qwriter.h"
#include "queue/queue_spool.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netio.h"
#include "lib/qid.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define POOL_BATCH 1024		/* names listed per readdir pass */
#define POOL_RETRY_MS 100

void qw_pool_init(struct qw *qw)
{
	qw->pool_fd = openat(qw->spool_fd, QUEUE_DIR_POOL,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qw->pool_fd < 0)
		fatal("open %s/%s", qw->spool, QUEUE_DIR_POOL);
	qw->pool = xcalloc(POOL_BATCH, sizeof(*qw->pool));
	qw->npool = 0;
	qw->pool_retry_ms = 0;
}

/* A name the queue manager wrote (a queue ID) and not in use. */
static int pool_name_free(const struct qw *qw, const char *s)
{
	uint64_t v;

	if (qid_parse(s, &v) < 0)
		return 0;
	for (size_t i = 0; i < qw->nbusy; i++)
		if (qw->pool_busy[i] == v)
			return 0;
	return 1;
}

static void pool_list(struct qw *qw)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(qw->pool_fd)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(d);
	while (qw->npool < POOL_BATCH && (de = readdir(d)) != NULL)
		if (pool_name_free(qw, de->d_name))
			memcpy(qw->pool[qw->npool++], de->d_name, QID_LEN + 1);
	closedir(d);
}

int qw_pool_take(struct qw *qw, char name[QID_LEN + 1])
{
	if (qw->npool == 0) {
		uint64_t now = netio_now_ms();

		if (now < qw->pool_retry_ms)
			return 0;
		pool_list(qw);
		if (qw->npool == 0) {
			qw->pool_retry_ms = now + POOL_RETRY_MS;
			return 0;
		}
	}
	if (qw->nbusy == QW_PUBLISH_MAX)
		return 0;	/* cannot happen: one per publish in flight */
	memcpy(name, qw->pool[--qw->npool], QID_LEN + 1);
	if (qid_parse(name, &qw->pool_busy[qw->nbusy]) == 0)
		qw->nbusy++;
	return 1;
}

void qw_pool_release(struct qw *qw, const char name[QID_LEN + 1])
{
	uint64_t v;

	if (qid_parse(name, &v) < 0)
		return;
	for (size_t i = 0; i < qw->nbusy; i++)
		if (qw->pool_busy[i] == v) {
			qw->pool_busy[i] = qw->pool_busy[--qw->nbusy];
			return;
		}
}
