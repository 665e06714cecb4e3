/* local_mbox: mailboxes in use, their quota figures and the batched fsync
 * of new/; see local_mbox.h.  The quota scan (readdir of new/ and cur/)
 * and the mtime checks are plain system calls: the ring has no getdents,
 * and they run only when a mailbox changed behind our back.  Creating a
 * Maildir (mkdir) happens once per mailbox per process. */
#include "deliver/local_mbox.h"
#include "deliver/local_dlv.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCAL_MBOX_BUCKETS 1024		/* power of two */

static void on_sync(struct ev_op *op, int res, unsigned flags);

static size_t bucket(const char *path)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *path != '\0'; path++)
		h = (h ^ (unsigned char)*path) * 1099511628211ULL;
	return (size_t)(h & (LOCAL_MBOX_BUCKETS - 1));
}

/* Forget idle mailboxes when too many are remembered. */
static void sweep(struct local *lo)
{
	for (size_t b = 0; b < LOCAL_MBOX_BUCKETS; b++) {
		struct local_mbox **pp = &lo->mboxes[b];

		while (*pp != NULL) {
			struct local_mbox *mb = *pp;

			if (mb->refs == 0 && !mb->sync_busy) {
				*pp = mb->hnext;
				free(mb);
				lo->nmboxes--;
			} else {
				pp = &mb->hnext;
			}
		}
	}
}

struct local_mbox *local_mbox_get(struct local *lo, const char *path)
{
	struct local_mbox *mb;
	size_t b;

	if (lo->mboxes == NULL)
		lo->mboxes = xcalloc(LOCAL_MBOX_BUCKETS, sizeof(*lo->mboxes));
	b = bucket(path);
	for (mb = lo->mboxes[b]; mb != NULL; mb = mb->hnext)
		if (strcmp(mb->path, path) == 0)
			break;
	if (mb == NULL) {
		if (lo->nmboxes >= LOCAL_MBOX_MAX)
			sweep(lo);
		mb = xcalloc(1, sizeof(*mb));
		snprintf(mb->path, sizeof(mb->path), "%s", path);
		snprintf(mb->new_dir, sizeof(mb->new_dir), "%s/new", path);
		mb->lo = lo;
		mb->sync_fd = -1;
		mb->sync_op.fn = on_sync;
		mb->hnext = lo->mboxes[b];
		lo->mboxes[b] = mb;
		lo->nmboxes++;
	}
	mb->refs++;
	return mb;
}

void local_mbox_put(struct local *lo, struct local_mbox *mb)
{
	(void)lo;
	if (mb->refs == 0)
		panic("mailbox %s: reference count below zero", mb->path);
	mb->refs--;
}

int local_mbox_ready(struct local *lo, struct local_mbox *mb)
{
	int rc;

	if (mb->ready)
		return 0;
	if ((rc = maildir_create(lo->mail_root, mb->path)) < 0)
		return rc;
	mb->ready = 1;
	return 0;
}

static int dir_mtime(const char *path, const char *sub, struct timespec *out)
{
	char dir[LOCAL_PATH_MAX + 8];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/%s", path, sub);
	if (stat(dir, &st) < 0)
		return -errno;
	*out = st.st_mtim;
	return 0;
}

/* The S= sizes of the messages in path/sub (the file size for a name
 * without S=). */
static int sum_dir(const char *path, const char *sub, uint64_t *sum)
{
	char dir[LOCAL_PATH_MAX + 8];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", path, sub);
	if ((d = opendir(dir)) == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		uint64_t size, wire;
		size_t ulen;
		struct stat st;

		if (e->d_name[0] == '.' ||
		    maildir_name_parse(e->d_name, &size, &wire, &ulen) < 0)
			continue;
		if (size == UINT64_MAX) {
			if (fstatat(dirfd(d), e->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
				continue;
			size = (uint64_t)st.st_size;
		}
		*sum += size;
	}
	closedir(d);
	return 0;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Rescan when a directory changed since the figure was taken. */
static int fresh(struct local_mbox *mb)
{
	struct timespec tn, tc;
	uint64_t sum = 0;
	int rc;

	if ((rc = dir_mtime(mb->path, "new", &tn)) < 0 ||
	    (rc = dir_mtime(mb->path, "cur", &tc)) < 0)
		return rc;
	if (mb->scanned && same_time(&tn, &mb->new_mtime) &&
	    same_time(&tc, &mb->cur_mtime))
		return 0;
	if ((rc = sum_dir(mb->path, "new", &sum)) < 0 ||
	    (rc = sum_dir(mb->path, "cur", &sum)) < 0)
		return rc;
	mb->usage = sum;
	mb->new_mtime = tn;
	mb->cur_mtime = tc;
	mb->scanned = 1;
	return 0;
}

int local_mbox_usage(struct local_mbox *mb, uint64_t *out)
{
	int rc = fresh(mb);

	if (rc == 0)
		*out = mb->usage + mb->reserved;
	return rc;
}

int local_mbox_reserve(struct local_mbox *mb, uint64_t size, uint64_t quota)
{
	uint64_t used;
	int rc;

	if (quota != 0) {
		if ((rc = local_mbox_usage(mb, &used)) < 0)
			return rc;
		if (used > quota || size > quota - used)
			return -EDQUOT;
	}
	mb->reserved += size;
	return 0;
}

void local_mbox_release(struct local_mbox *mb, uint64_t size, int delivered)
{
	mb->reserved -= size < mb->reserved ? size : mb->reserved;
	if (!delivered || !mb->scanned)
		return;
	/* Our own rename changed new/: count it, and take the new mtime so
	 * that it does not look like someone else's change. */
	mb->usage += size;
	if (dir_mtime(mb->path, "new", &mb->new_mtime) < 0)
		mb->scanned = 0;
}

static void sync_start(struct local *lo, struct local_mbox *mb)
{
	mb->sync_batch = mb->sync_wait;
	mb->sync_wait = NULL;
	mb->sync_busy = 1;
	mb->sync_stage = 0;
	mb->sync_res = 0;
	ev_openat(&lo->loop, &mb->sync_op, AT_FDCWD, mb->new_dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

void local_mbox_sync(struct local *lo, struct local_mbox *mb,
    struct local_dlv *d)
{
	d->snext = mb->sync_wait;
	mb->sync_wait = d;
	if (!mb->sync_busy)
		sync_start(lo, mb);
}

static void sync_done(struct local_mbox *mb, int res)
{
	struct local_dlv *d = mb->sync_batch, *next;

	mb->sync_batch = NULL;
	for (; d != NULL; d = next) {
		next = d->snext;
		local_dlv_synced(d, res);
	}
	mb->sync_busy = 0;
	if (mb->sync_wait != NULL)
		sync_start(mb->lo, mb);
}

static void on_sync(struct ev_op *op, int res, unsigned flags)
{
	struct local_mbox *mb = container_of(op, struct local_mbox, sync_op);
	struct local *lo = mb->lo;

	(void)flags;
	switch (mb->sync_stage) {
	case 0:
		if (res < 0) {
			sync_done(mb, res);
			return;
		}
		mb->sync_fd = res;
		mb->sync_stage = 1;
		ev_fsync(&lo->loop, &mb->sync_op, mb->sync_fd, 0);
		return;
	case 1:
		mb->sync_res = res < 0 ? res : 0;
		mb->sync_stage = 2;
		ev_close(&lo->loop, &mb->sync_op, mb->sync_fd);
		mb->sync_fd = -1;
		return;
	default:
		sync_done(mb, mb->sync_res);
	}
}

void local_mbox_exit(struct local *lo)
{
	if (lo->mboxes == NULL)
		return;
	for (size_t b = 0; b < LOCAL_MBOX_BUCKETS; b++) {
		while (lo->mboxes[b] != NULL) {
			struct local_mbox *mb = lo->mboxes[b];

			lo->mboxes[b] = mb->hnext;
			if (mb->sync_fd >= 0)
				close(mb->sync_fd);
			free(mb);
		}
	}
	free(lo->mboxes);
	lo->mboxes = NULL;
	lo->nmboxes = 0;
}
