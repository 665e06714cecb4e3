/* qmgr_scan: how messages reach the active set.  NEW notices queue their
 * IDs in a bounded backlog (overflow: rescan incoming/ later); scans walk
 * the 256 hashed subdirectories of incoming/ (start-up, rescan), deferred/
 * (every min(retry_min, 60 s): files whose mtime has passed; `flush`: all)
 * and hold/ (a count for `stats`), and the operator's "delete all".  All
 * of it runs from before_sleep in bounded batches of cheap metadata calls
 * and file loads; a scan that meets a full active set pauses on the entry
 * it holds and resumes when a message leaves. */
#include "queue/qmgr.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct scan_budget {
	unsigned entries, loads;
};

void qm_backlog_push(struct qm *qm, uint64_t qid)
{
	if (qm->bl_len == QM_BACKLOG_MAX) {
		qm->rescan_incoming = 1;
		return;
	}
	qm->backlog[(qm->bl_head + qm->bl_len) % QM_BACKLOG_MAX] = qid;
	qm->bl_len++;
	qm_kick(qm);
}

void qm_scan_start(struct qm *qm, struct qm_scan *s, enum qm_dir dir,
    enum qm_scan_mode mode)
{
	if (s->running) {
		if (!s->again || mode == QM_SCAN_FORCE)
			s->again_mode = mode;
		s->again = 1;
		return;
	}
	memset(s, 0, sizeof(*s));
	s->running = 1;
	s->dir = dir;
	s->mode = mode;
	s->now = qm_now();
	qm_kick(qm);
}

int qm_scan_busy(const struct qm *qm)
{
	return qm->bl_len > 0 || qm->scan_in.running || qm->scan_def.running ||
	    qm->scan_hold.running || qm->scan_del.running;
}

/* Load and start (or delete) one message; budget counted. */
static void scan_load(struct qm *qm, enum qm_dir dir, uint64_t qid,
    int del, struct scan_budget *b)
{
	struct qm_msg *m = NULL;
	int rc;

	b->loads--;
	rc = qm_msg_load(qm, dir, qid, del, &m);
	if (rc == -EEXIST && del) {
		m = qm_msg_find(qm, qid);
	} else if (rc < 0) {
		/* Out of descriptors, memory...: the file stays where it is;
		 * look again in a second (deferred/ is scanned anyway). */
		if (rc != -EEXIST && rc != -ENOENT && rc != -EBADMSG &&
		    dir == QM_INCOMING)
			qm->rescan_later = 1;
		return;
	}
	if (del) {
		if (m != NULL && !(m->flags & QM_M_DELETE)) {
			m->flags |= QM_M_DELETE;
			qm->deleted_count++;
			qm_jobs_drop_msg(qm, m);
			if (m->njobs == 0)
				qm_msg_settle(qm, m);
		}
		return;
	}
	qm_msg_start(qm, m);
}

/* One directory entry.  0: done with it; 1: no room, keep it. */
static int scan_entry(struct qm *qm, struct qm_scan *s, uint64_t qid,
    int subfd, const char *name, struct scan_budget *b)
{
	struct stat st;

	if (s->mode == QM_SCAN_COUNT) {
		s->seen++;
		return 0;
	}
	if (s->mode == QM_SCAN_DELETE) {
		scan_load(qm, s->dir, qid, 1, b);
		return 0;
	}
	s->seen++;
	if (qm_msg_find(qm, qid) != NULL)
		return 0;
	if (s->mode == QM_SCAN_DUE && subfd >= 0 &&
	    (fstatat(subfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_mtime > s->now))
		return 0;
	if (!qm_room(qm))
		return 1;
	scan_load(qm, s->dir, qid, 0, b);
	return 0;
}

static void scan_finished(struct qm *qm, struct qm_scan *s)
{
	enum qm_scan_mode again = s->again_mode;
	int rerun = s->again;

	s->running = 0;
	if (s->mode == QM_SCAN_DUE || s->mode == QM_SCAN_FORCE)
		qm->queue_deferred = (unsigned)s->seen;
	else if (s->mode == QM_SCAN_COUNT)
		qm->queue_hold = (unsigned)s->seen;
	if (s->mode == QM_SCAN_DELETE) {
		if (s->dir == QM_INCOMING)
			qm_scan_start(qm, s, QM_DEFERRED, QM_SCAN_DELETE);
		else if (s->dir == QM_DEFERRED)
			qm_scan_start(qm, s, QM_HOLD, QM_SCAN_DELETE);
		else
			qm_ctl_delete_done(qm, qm->deleted_count);
		return;
	}
	if (rerun)
		qm_scan_start(qm, s, s->dir, again);
}

/* Open the next hashed subdirectory; 0, or 1 when there is none. */
static int scan_next_dir(struct qm *qm, struct qm_scan *s)
{
	while (s->sub < 256) {
		int fd;

		snprintf(s->cur, sizeof(s->cur), "%02X", s->sub++);
		fd = openat(qm->dirfd[s->dir], s->cur, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		if (fd < 0)
			continue;
		if ((s->d = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		return 0;
	}
	return 1;
}

/* Run s within the budget; 1 if it paused for room. */
static int scan_run(struct qm *qm, struct qm_scan *s, struct scan_budget *b)
{
	if (s->have_pend) {
		if (scan_entry(qm, s, s->pend_qid, dirfd(s->d), s->pend_name,
		    b) == 1)
			return 1;
		s->have_pend = 0;
	}
	while (s->running && b->entries > 0 && b->loads > 0) {
		struct dirent *de;
		uint64_t qid;
		char want[3];

		if (s->d == NULL && scan_next_dir(qm, s) == 1) {
			scan_finished(qm, s);
			return 0;
		}
		if ((de = readdir(s->d)) == NULL) {
			closedir(s->d);
			s->d = NULL;
			continue;
		}
		b->entries--;
		if (qid_parse(de->d_name, &qid) < 0)
			continue;
		qid_hash_dir(qid, want);
		if (strcmp(want, s->cur) != 0)
			continue;
		if (scan_entry(qm, s, qid, dirfd(s->d), de->d_name, b) == 1) {
			/* No room: come back to this entry later. */
			s->have_pend = 1;
			s->pend_qid = qid;
			qid_format(qid, s->pend_name);
			return 1;
		}
	}
	return 0;
}

void qm_scan_step(struct qm *qm)
{
	struct scan_budget b = { QM_SCAN_BATCH, QM_LOAD_BATCH };
	struct qm_scan *order[] = { &qm->scan_del, &qm->scan_in,
	    &qm->scan_def, &qm->scan_hold };
	int more = 0;

	if (qm->stopping)
		return;
	while (qm->bl_len > 0 && b.loads > 0 && qm_room(qm)) {
		uint64_t qid = qm->backlog[qm->bl_head];

		qm->bl_head = (qm->bl_head + 1) % QM_BACKLOG_MAX;
		qm->bl_len--;
		scan_load(qm, QM_INCOMING, qid, 0, &b);
	}
	if (qm->rescan_incoming && qm->bl_len == 0 && qm->wstate == QM_W_READY) {
		qm->rescan_incoming = 0;
		qm_scan_start(qm, &qm->scan_in, QM_INCOMING, QM_SCAN_LOAD);
	}
	for (size_t i = 0; i < ARRAY_LEN(order); i++) {
		struct qm_scan *s = order[i];

		if (s->running && scan_run(qm, s, &b) == 0 && s->running)
			more = 1;
	}
	if (more || (qm->bl_len > 0 && qm_room(qm)))
		qm_kick(qm);
}
