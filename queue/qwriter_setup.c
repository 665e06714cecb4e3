/* qwriter_setup: the queue writer's start-up (recovery, directories,
 * listening socket, ring, segments, helper thread, signals) and its
 * orderly shutdown.  Blocking calls are allowed here only before ev_run.
 * SIGTERM: stop accepting, let open transactions finish (QW_DRAIN_MS),
 * close the clients, finish every commit and publish (QW_FLUSH_MS), run a
 * final checkpoint that deletes every segment, and stop the loop. */
#include "queue/qwriter.h"
#include "queue/queue_spool.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int open_dir(const char *spool, const char *sub)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s%s%s", spool, sub ? "/" : "",
	    sub ? sub : "");
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		fatal("open %s", path);
	return fd;
}

/* Our own socket, when the master did not pass one (manual runs). */
static void qw_listen_own(struct qw *qw)
{
	struct sockaddr_un sun;
	char run[4096];
	int fd;

	if (snprintf(run, sizeof(run), "%s/run", qw->conf->state_dir) >=
	    (int)sizeof(run))
		fatalx("state_dir too long");
	if (mkdir(run, 0755) < 0 && errno != EEXIST)
		fatal("mkdir %s", run);
	if (snprintf(qw->sock_path, sizeof(qw->sock_path), "%s/%s", run,
	    MTA_QWRITER_SOCK) >= (int)sizeof(qw->sock_path))
		fatalx("socket path %s/%s too long", run, MTA_QWRITER_SOCK);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, qw->sock_path, strlen(qw->sock_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("another queue writer is listening on %s", qw->sock_path);
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	unlink(qw->sock_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", qw->sock_path);
	if (chmod(qw->sock_path, 0666) < 0)
		fatal("chmod %s", qw->sock_path);
	if (listen(fd, SOMAXCONN) < 0)
		fatal("listen %s", qw->sock_path);
	qw->listen_fd = fd;
	qw->own_sock = 1;
}

static void qw_listen(struct qw *qw)
{
	int fds[1], n = fds_get(MTA_FD_ROLE_QWRITER, fds, 1);

	if (n < 0)
		fatalx("malformed %s", MTA_FDS_ENV);
	if (n == 0) {
		qw_listen_own(qw);
		return;
	}
	qw->listen_fd = fds[0];
	if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0)
		fatal("inherited socket %d", fds[0]);
}

static void qw_on_signal(struct ev_op *op, int res, unsigned flags);

static void qw_signals(struct qw *qw)
{
	int rc;

	/* Before the helper thread starts, so it inherits the mask. */
	if ((rc = ev_signal_open(&qw->sig, qw_on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
}

static void qw_limits(struct qw *qw)
{
	struct passwd *pw = getpwnam(qw->conf->user_smtpd);

	if (pw != NULL) {
		qw->smtpd_uid = pw->pw_uid;
		qw->have_smtpd_uid = 1;
	}
	fds_raise_limit();
}

static void qw_recover(struct qw *qw)
{
	struct queue_recover_stats st;
	int rc;

	if (queue_spool_path(qw->conf->state_dir, qw->spool,
	    sizeof(qw->spool)) < 0)
		fatalx("state_dir too long");
	if (mkdir(qw->conf->state_dir, 0755) < 0 && errno != EEXIST)
		fatal("mkdir %s", qw->conf->state_dir);
	/* The incoming/ scan runs later, in the helper thread. */
	if ((rc = queue_recover(qw->spool, 0, &st)) < 0)
		fatalx("cannot recover the spool %s: %s", qw->spool,
		    strerror(-rc));
	qw->spool_fd = open_dir(qw->spool, NULL);
	qw->journal_fd = open_dir(qw->spool, QUEUE_DIR_JOURNAL);
	qw->tmp_fd = open_dir(qw->spool, QUEUE_DIR_TMP);
	qw->incoming_fd = open_dir(qw->spool, QUEUE_DIR_INCOMING);
	qw_pool_init(qw);
}

/* Opens, renames and fsyncs run in io-wq worker threads.  They are short
 * and mostly CPU (page cache, directory locks): more workers than CPUs only
 * spin on the same directory locks, which measured several times slower
 * on 2 cores. */
static void qw_iowq_limit(struct qw *qw)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned v[2];

	v[0] = v[1] = ncpu < 2 ? 4 : (unsigned)ncpu * 2;
	io_uring_register_iowq_max_workers(&qw->loop.ring, v);
}

void qw_setup(struct qw *qw, const struct conf *conf)
{
	int rc;

	memset(qw, 0, sizeof(*qw));
	qw->conf = conf;
	qw->content_limit = conf->message_size_limit > SIZE_MAX - QW_HEADROOM ?
	    SIZE_MAX : (size_t)conf->message_size_limit + QW_HEADROOM;
	qw->pend_tail = &qw->pend_head;
	qw->pubq_tail = &qw->pubq_head;
	qw->listen_fd = qw->sig.fd = qw->efd = -1;
	qw_limits(qw);
	qw_signals(qw);
	qw_recover(qw);
	/* Every file on disk now is durable without the journal. */
	qw->last_qid = qid_next();
	qw_listen(qw);
	if ((rc = ev_init(&qw->loop, QW_RING_ENTRIES)) < 0)
		fatalx("io_uring: %s", strerror(-rc));
	qw_iowq_limit(qw);
	qw->pool_overwrite = ev_has_ftruncate(&qw->loop);
	if ((rc = ev_bufring_setup(&qw->loop, &qw->br, 0, QW_RECV_BUFS,
	    QW_RECV_BUFSZ)) < 0)
		fatalx("provided buffers: %s", strerror(-rc));
	qw_segments_init(qw);
	qw_ckpt_init(qw);
	qw_alias_init(qw);
	qw_job_start(qw, QW_JOB_SCAN);
	qw_accept_start(qw);
	ev_signal_read(&qw->loop, &qw->sig);
	qw->loop.before_sleep = qw_before_sleep;
	qw->loop.before_sleep_arg = qw;
}

static void qw_on_drain_timer(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, open_op);

	qw->open_expired = 1;
}

static void qw_on_flush_timer(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, flush_op);

	qw->flush_expired = 1;
}

static void qw_drain_start(struct qw *qw)
{
	log_info("stopping: %zu commits pending, %u publishes busy",
	    qw->npend + qw->grp.n, qw_publish_busy(qw));
	qw->drain = QW_DRAIN_OPEN;
	qw->accepting = 0;
	ev_cancel_op(&qw->loop, &qw->accept_op);
	if (qw->own_sock)
		io_uring_prep_unlinkat(ev_sqe(&qw->loop, NULL), AT_FDCWD,
		    qw->sock_path, 0);
	qw->open_op.fn = qw_on_drain_timer;
	ev_timeout(&qw->loop, &qw->open_op, &qw->open_ts, QW_DRAIN_MS);
}

static void qw_on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, sig.op);

	if (res == (int)sizeof(qw->sig.si) && qw->drain == QW_RUNNING)
		qw_drain_start(qw);
	if (res < 0 && res != -EINTR && res != -EAGAIN)
		panic("signalfd read: %s", strerror(-res));
	ev_signal_read(&qw->loop, &qw->sig);
}

/* Everything journaled is answered, published and no op is pending. */
static int qw_flushed(const struct qw *qw)
{
	return !qw->grp.active && qw->npend == 0 &&
	    qw->pub_queued + qw->pub_inflight == 0;
}

static void qw_drain_step(struct qw *qw)
{
	if (qw->drain == QW_DRAIN_OPEN) {
		if (qw_clients_open_txns(qw) > 0 && !qw->open_expired)
			return;
		qw_clients_close_all(qw);
		qw->drain = QW_DRAIN_FLUSH;
		qw->flush_op.fn = qw_on_flush_timer;
		ev_timeout(&qw->loop, &qw->flush_op, &qw->flush_ts,
		    QW_FLUSH_MS);
	}
	if (qw->drain == QW_DRAIN_FLUSH) {
		if (!qw_flushed(qw) ||
		    (qw->pub_retrying > 0 && !qw->flush_expired))
			return;
		if (qw->pub_retrying > 0) {
			log_warn("%u queue files not published; the journal "
			    "keeps them for the next start", qw->pub_retrying);
			qw->drain = QW_DRAIN_DONE;
		} else {
			qw_ckpt_final(qw);
		}
	}
	if (qw->drain == QW_DRAIN_DONE && qw->ndeleting == 0)
		ev_stop(&qw->loop);
}

void qw_before_sleep(struct ev_loop *loop, void *arg)
{
	struct qw *qw = arg;

	/* Rotation first: under load a group is in flight most of the
	 * time, and this is the moment between two groups. */
	qw_ckpt_poll(qw);
	qw_commit_kick(qw);
	if (qw->drain != QW_RUNNING)
		qw_drain_step(qw);
}
