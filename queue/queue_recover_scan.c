/* queue_recover_scan: the incoming/ check of recovery.  Runs after the
 * journal replay, so any file that still fails to decode is not described
 * by the journal: it is moved to corrupt/ with a log line, never dropped.
 * Blocking; the queue writer runs it in its helper thread. */
#include "queue/queue_recover.h"
#include "queue/queue_file.h"
#include "queue/queue_spool.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/qid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Move spool/incoming/XX/name to corrupt/XX/name (or corrupt/name when the
 * name is not this directory's queue ID), never over an existing file. */
static void scan_quarantine(const char *spool, const char *xx,
    const char *name, int name_ok, const char *why)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/%s/%s/%s", spool, QUEUE_DIR_INCOMING,
	    xx, name);
	for (int i = 0; i < 100; i++) {
		int w;

		if (name_ok)
			w = snprintf(to, sizeof(to), "%s/%s/%s/%s", spool,
			    QUEUE_DIR_CORRUPT, xx, name);
		else
			w = snprintf(to, sizeof(to), "%s/%s/%s", spool,
			    QUEUE_DIR_CORRUPT, name);
		if (i > 0 && w > 0 && (size_t)w < sizeof(to))
			w += snprintf(to + w, sizeof(to) - (size_t)w, ".%d", i);
		if (w < 0 || (size_t)w >= sizeof(to))
			break;
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to,
		    RENAME_NOREPLACE) == 0) {
			log_warn("%s: %s: moved %s to %s", name, why, from, to);
			return;
		}
		if (errno != EEXIST)
			break;
	}
	log_warn("%s: %s: cannot move %s to corrupt/: %s", name, why, from,
	    strerror(errno));
}

static void scan_file(const char *spool, const char *xx, const char *name,
    struct buf *data, struct queue_recover_stats *st)
{
	char path[4096], want[3];
	struct queue_msg m;
	uint64_t qid;
	int rc;

	if (qid_parse(name, &qid) < 0) {
		st->corrupt++;
		scan_quarantine(spool, xx, name, 0, "not a queue file name");
		return;
	}
	qid_hash_dir(qid, want);
	if (strcmp(want, xx) != 0) {
		st->corrupt++;
		scan_quarantine(spool, xx, name, 0, "in the wrong directory");
		return;
	}
	if (qid > st->max_qid)
		st->max_qid = qid;
	snprintf(path, sizeof(path), "%s/%s/%s/%s", spool, QUEUE_DIR_INCOMING,
	    xx, name);
	st->scanned++;
	rc = queue_file_read(path, data, &m);
	if (rc == -ENOENT)
		return;		/* taken meanwhile (queue manager) */
	if (rc == 0 && m.qid == qid) {
		queue_msg_free(&m);
		return;
	}
	queue_msg_free(&m);
	st->corrupt++;
	scan_quarantine(spool, xx, name, 1,
	    rc == -EBADMSG || rc == 0 ? "corrupt queue file" : strerror(-rc));
}

int queue_recover_scan(const char *spool, struct queue_recover_stats *st)
{
	struct buf data;

	buf_init(&data, 0);
	for (unsigned i = 0; i < 256; i++) {
		char dir[4096], xx[3];
		struct dirent *de;
		DIR *d;

		snprintf(xx, sizeof(xx), "%02X", i);
		snprintf(dir, sizeof(dir), "%s/%s/%s", spool, QUEUE_DIR_INCOMING,
		    xx);
		if ((d = opendir(dir)) == NULL) {
			if (errno == ENOENT)
				continue;
			buf_free(&data);
			return -errno;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
			    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
				continue;
			scan_file(spool, xx, de->d_name, &data, st);
		}
		closedir(d);
	}
	buf_free(&data);
	return 0;
}
