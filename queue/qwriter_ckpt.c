/* qwriter_ckpt: checkpoints and the helper thread.  Every
 * queue_checkpoint_ms (or when a segment passes QW_SEG_MAX) the journal
 * rotates; an old segment whose files are all published is then covered by
 * one syncfs of the spool, run in the helper thread because it blocks, and
 * deleted once it returns.  The thread reports through an eventfd that the
 * ring reads, so the event loop itself never blocks.  The same thread runs
 * the incoming/ scan of recovery after start-up. */
#include "queue/qwriter.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void *ckpt_thread(void *arg)
{
	struct qw *qw = arg;

	pthread_mutex_lock(&qw->mu);
	for (;;) {
		enum qw_job job;
		uint64_t one = 1;
		int rc;

		while (qw->job == QW_JOB_NONE)
			pthread_cond_wait(&qw->cv, &qw->mu);
		job = qw->job;
		qw->job = QW_JOB_NONE;
		pthread_mutex_unlock(&qw->mu);
		if (job == QW_JOB_SYNCFS)
			rc = syncfs(qw->spool_fd) < 0 ? -errno : 0;
		else
			rc = queue_recover_scan(qw->spool, &qw->scan_st);
		pthread_mutex_lock(&qw->mu);
		qw->job_rc = rc;
		while (write(qw->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

int qw_job_start(struct qw *qw, enum qw_job job)
{
	if (qw->job_running != QW_JOB_NONE)
		return -EBUSY;
	qw->job_running = job;
	pthread_mutex_lock(&qw->mu);
	qw->job = job;
	pthread_cond_signal(&qw->cv);
	pthread_mutex_unlock(&qw->mu);
	return 0;
}

/* The deletions are durable: no record below the watermark is left. */
static void ckpt_on_jsync(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, jsync_op);

	if (res < 0)
		log_warn("fsync of %s/journal: %s", qw->spool, strerror(-res));
	if (--qw->ndeleting > 0)
		return;		/* more deletions since: their fsync follows */
	qw->del_lo = 0;
	qw_notify_ckpt(qw);
}

static void seg_on_deleted(struct ev_op *op, int res, unsigned flags)
{
	struct qw_seg *s = container_of(op, struct qw_seg, del_op);
	struct qw *qw = s->qw;

	if (res < 0 && res != -ENOENT)
		log_warn("cannot remove journal segment %s: %s", s->name,
		    strerror(-res));
	free(s);
	if (--qw->ndeleting > 0)
		return;
	/* The queue manager unlinks files below the watermark: the segments
	 * must be gone for good first, or recovery would bring them back. */
	qw->ndeleting++;
	qw->jsync_op.fn = ckpt_on_jsync;
	ev_fsync(&qw->loop, &qw->jsync_op, qw->journal_fd, 0);
}

/* The syncfs covering the marked segments returned rc. */
static void ckpt_synced(struct qw *qw, int rc)
{
	struct qw_seg **pp = &qw->old;

	if (rc < 0) {
		log_warn("checkpoint: syncfs of %s failed: %s; journal kept",
		    qw->spool, strerror(-rc));
		qw->ckpt_backoff = 1;	/* until the next timer tick */
	}
	while (*pp != NULL) {
		struct qw_seg *s = *pp;

		if (!s->syncing) {
			pp = &s->next;
			continue;
		}
		s->syncing = 0;
		if (rc < 0) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		if (s->min_qid != 0 && (qw->del_lo == 0 || s->min_qid <
		    qw->del_lo))
			qw->del_lo = s->min_qid;
		io_uring_prep_close(ev_sqe(&qw->loop, NULL), s->fd);
		s->qw = qw;
		s->del_op.fn = seg_on_deleted;
		journal_seg_name(s->segno, s->name);
		io_uring_prep_unlinkat(ev_sqe(&qw->loop, &s->del_op),
		    qw->journal_fd, s->name, 0);
		qw->ndeleting++;
	}
	if (qw->drain == QW_DRAIN_SYNC)
		qw->drain = QW_DRAIN_DONE;
}

static void ckpt_on_efd(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, efd_op);
	enum qw_job job = qw->job_running;
	int rc;

	if (res < 0 && res != -EINTR && res != -EAGAIN)
		panic("eventfd read: %s", strerror(-res));
	ev_read(&qw->loop, &qw->efd_op, qw->efd, &qw->efd_val,
	    sizeof(qw->efd_val), -1);
	if (res < 0)
		return;
	pthread_mutex_lock(&qw->mu);
	rc = qw->job_rc;
	pthread_mutex_unlock(&qw->mu);
	qw->job_running = QW_JOB_NONE;
	if (job == QW_JOB_SYNCFS) {
		ckpt_synced(qw, rc);
	} else if (job == QW_JOB_SCAN) {
		qid_seen(qw->scan_st.max_qid);
		if (rc < 0)
			log_warn("incoming/ scan failed: %s", strerror(-rc));
		else
			log_info("incoming/ scan: %u queue files checked, %u "
			    "moved to corrupt/", qw->scan_st.scanned,
			    qw->scan_st.corrupt);
	}
}

static void ckpt_on_timer(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, ckpt_op);
	unsigned ms = qw->conf->queue_checkpoint_ms;

	if (qw->cur != NULL && qw->cur->size > 0)
		qw->ckpt_want = 1;
	qw->ckpt_backoff = 0;
	ev_timeout(&qw->loop, &qw->ckpt_op, &qw->ckpt_ts, ms ? ms : 1000);
}

void qw_ckpt_init(struct qw *qw)
{
	unsigned ms = qw->conf->queue_checkpoint_ms;
	int rc;

	if ((qw->efd = eventfd(0, EFD_CLOEXEC)) < 0)
		fatal("eventfd");
	pthread_mutex_init(&qw->mu, NULL);
	pthread_cond_init(&qw->cv, NULL);
	if ((rc = pthread_create(&qw->thread, NULL, ckpt_thread, qw)) != 0)
		fatalx("pthread_create: %s", strerror(rc));
	qw->efd_op.fn = ckpt_on_efd;
	ev_read(&qw->loop, &qw->efd_op, qw->efd, &qw->efd_val,
	    sizeof(qw->efd_val), -1);
	qw->ckpt_op.fn = ckpt_on_timer;
	ev_timeout(&qw->loop, &qw->ckpt_op, &qw->ckpt_ts, ms ? ms : 1000);
}

void qw_ckpt_poll(struct qw *qw)
{
	int any = 0;

	if (qw->ckpt_want && !qw->grp.active) {
		if (qw->cur == NULL || qw->cur->size == 0 ||
		    qw_segment_rotate(qw) == 0)
			qw->ckpt_want = 0;
	}
	if (qw->job_running != QW_JOB_NONE || qw->drain >= QW_DRAIN_SYNC ||
	    qw->ckpt_backoff)
		return;
	for (struct qw_seg *s = qw->old; s != NULL; s = s->next)
		if (s->unpublished == 0) {
			s->syncing = 1;
			any = 1;
		}
	if (any)
		qw_job_start(qw, QW_JOB_SYNCFS);
}

int qw_ckpt_final(struct qw *qw)
{
	struct qw_seg *extra[2] = { qw->cur, qw->spare };

	if (qw->job_running != QW_JOB_NONE ||
	    qw->spare_state == QW_SPARE_OPENING ||
	    qw->spare_state == QW_SPARE_SYNCING)
		return 0;
	qw->cur = qw->spare = NULL;
	qw->spare_state = QW_SPARE_NONE;
	for (size_t i = 0; i < ARRAY_LEN(extra); i++)
		if (extra[i] != NULL) {
			extra[i]->next = qw->old;
			qw->old = extra[i];
		}
	for (struct qw_seg *s = qw->old; s != NULL; s = s->next)
		s->syncing = 1;
	qw->drain = QW_DRAIN_SYNC;
	qw_job_start(qw, QW_JOB_SYNCFS);
	return 1;
}
