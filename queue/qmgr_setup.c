/* qmgr_setup: the queue manager's start-up (spool directories, the two
 * listening sockets, the ring, signals, transport_file), its before_sleep
 * hook, the one-second tick and the SIGTERM drain.  Blocking calls only
 * before ev_run.  The sockets come from mta-master (MTA_FDS roles "agent"
 * and "qmgrctl"); run by hand without them, the unprivileged fallback binds
 * run/agent.sock (0666) and run/qmgr.sock (0600) itself. */
#include "queue/qmgr.h"
#include "queue/queue_spool.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const qm_dir_names[QM_NDIRS] = {
	[QM_INCOMING] = QUEUE_DIR_INCOMING, [QM_DEFERRED] = QUEUE_DIR_DEFERRED,
	[QM_HOLD] = QUEUE_DIR_HOLD, [QM_CORRUPT] = QUEUE_DIR_CORRUPT,
};

time_t qm_now(void)
{
	return time(NULL);
}

static void qm_on_kick(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, kick_op);

	qm->kick_armed = 0;
}

void qm_kick(struct qm *qm)
{
	if (qm->kick_armed)
		return;
	qm->kick_armed = 1;
	io_uring_prep_nop(ev_sqe(&qm->loop, &qm->kick_op));
}

/* Our own socket at run/NAME (manual runs without the master). */
static int qm_listen_own(struct qm *qm, const char *name, mode_t mode,
    char *path, size_t pathlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char run[4096];
	int fd;

	if (snprintf(run, sizeof(run), "%s/run", qm->conf->state_dir) >=
	    (int)sizeof(run) || snprintf(path, pathlen, "%s/%s", run, name) >=
	    (int)pathlen || strlen(path) >= sizeof(sun.sun_path))
		fatalx("%s/run/%s: path too long", qm->conf->state_dir, name);
	if (mkdir(run, 0755) < 0 && errno != EEXIST)
		fatal("mkdir %s", run);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("another queue manager is listening on %s", path);
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		fatal("socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0)
		fatal("listen on %s", path);
	return fd;
}

static int qm_listen(struct qm *qm, const char *role, const char *name,
    mode_t mode, int *own, char *path, size_t pathlen)
{
	int fd, n = fds_get(role, &fd, 1);

	if (n < 0)
		fatalx("malformed %s", MTA_FDS_ENV);
	if (n == 0) {
		*own = 1;
		return qm_listen_own(qm, name, mode, path, pathlen);
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fatal("inherited socket %d", fd);
	return fd;
}

static void qm_dirs(struct qm *qm)
{
	int rc;

	if (queue_spool_path(qm->conf->state_dir, qm->spool,
	    sizeof(qm->spool)) < 0)
		fatalx("state_dir too long");
	/* The writer creates them too; whoever comes first. */
	if ((rc = queue_spool_init(qm->spool)) < 0)
		fatalx("spool %s: %s", qm->spool, strerror(-rc));
	for (int i = 0; i < QM_NDIRS; i++) {
		char path[4096];

		if (snprintf(path, sizeof(path), "%s/%s", qm->spool,
		    qm_dir_names[i]) >= (int)sizeof(path))
			fatalx("state_dir too long");
		if ((qm->dirfd[i] = open(path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) < 0)
			fatal("open %s", path);
	}
	qm_pool_open(qm);
}

/* The active set is bounded by the config and by our descriptors: every
 * active message holds its queue file open. */
static void qm_limits(struct qm *qm)
{
	struct passwd *pw;
	struct rlimit rl;
	size_t want;

	fds_raise_limit();
	qm->limit = qm->conf->qmgr_active_limit;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	    && rl.rlim_cur < (rlim_t)qm->limit + 1024) {
		qm->limit = rl.rlim_cur > 1024 + 100 ?
		    (unsigned)(rl.rlim_cur - 1024) : 100;
		log_info("active set limited to %u messages by the descriptor "
		    "limit (%llu)", qm->limit, (unsigned long long)rl.rlim_cur);
	}
	for (want = 1024; want < qm->limit && want < (1u << 22); want *= 2)
		;
	qm->mtabsize = want;
	qm->mtab = xcalloc(want, sizeof(*qm->mtab));
	qm->jtabsize = want;
	qm->jtab = xcalloc(want, sizeof(*qm->jtab));
	qm->backlog = xcalloc(QM_BACKLOG_MAX, sizeof(*qm->backlog));
	qm->uid_remote = qm->uid_local = (uid_t)-1;
	if ((pw = getpwnam(qm->conf->user_remote)) != NULL)
		qm->uid_remote = pw->pw_uid;
	if ((pw = getpwnam(qm->conf->user_local)) != NULL)
		qm->uid_local = pw->pw_uid;
}

/* Under privilege separation the file may be out of our reach: then the
 * master hands over a descriptor (role "transport"), which is read again
 * when the file changes in place; a file replaced under the same name is
 * read by its path if we can, else at the next `mtactl reload`. */
static int qm_transport_stat(struct qm *qm, struct stat *st, int *use_fd)
{
	struct stat fst;
	int have_path = stat(qm->conf->transport_file, st) == 0;

	*use_fd = 0;
	if (qm->tp_fd < 0 || fstat(qm->tp_fd, &fst) < 0)
		return have_path ? 0 : -1;
	if (have_path && (st->st_ino != fst.st_ino ||
	    st->st_dev != fst.st_dev) && access(qm->conf->transport_file,
	    R_OK) == 0)
		return 0;	/* replaced, and readable: the new one */
	*st = fst;
	*use_fd = 1;
	return 0;
}

/* Reload transport_file when its mtime, size or inode changed. */
static void qm_transport_check(struct qm *qm, int first)
{
	const char *path = qm->conf->transport_file;
	char err[TRANSPORT_ERR_MAX];
	struct transport t = { 0 };
	struct stat st;
	int use_fd, rc;

	if (path[0] == '\0')
		return;
	if (qm_transport_stat(qm, &st, &use_fd) < 0) {
		if (first)
			fatal("transport_file %s", path);
		return;		/* keep the table we have */
	}
	if (!first && st.st_mtim.tv_sec == qm->tp_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == qm->tp_mtime.tv_nsec &&
	    st.st_size == qm->tp_size && st.st_ino == qm->tp_ino)
		return;
	qm->tp_mtime = st.st_mtim;
	qm->tp_size = st.st_size;
	qm->tp_ino = st.st_ino;
	rc = use_fd ? transport_load_fd(&t, qm->tp_fd, path, err, sizeof(err)) :
	    transport_load(&t, path, err, sizeof(err));
	if (rc < 0) {
		if (first)
			fatalx("%s", err);
		log_warn("%s; keeping the previous table", err);
		return;
	}
	transport_free(&qm->tp);
	qm->tp = t;
	log_info("transport_file %s: %zu entries", path, t.n);
}

static void qm_drain_step(struct qm *qm);

static void qm_on_tick(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, tick_op);
	time_t now = qm_now();
	unsigned every = qm->conf->retry_min < 60 ? qm->conf->retry_min : 60;

	if (qm->stopping) {
		qm_drain_step(qm);
		if (!qm->loop.stopping)
			ev_timeout(&qm->loop, &qm->tick_op, &qm->tick_ts, 100);
		return;
	}
	if (qm->wstate == QM_W_READY && now >= qm->next_deferred_scan) {
		qm->next_deferred_scan = now + (every ? every : 1);
		qm_scan_start(qm, &qm->scan_def, QM_DEFERRED, QM_SCAN_DUE);
		qm_scan_start(qm, &qm->scan_hold, QM_HOLD, QM_SCAN_COUNT);
	}
	if (qm->rescan_later) {
		qm->rescan_later = 0;
		qm->rescan_incoming = 1;
	}
	qm_transport_check(qm, 0);
	qm_jobs_tick(qm, now);
	qm_kick(qm);
	ev_timeout(&qm->loop, &qm->tick_op, &qm->tick_ts, QM_TICK_MS);
}

static void qm_on_drain_timer(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, drain_op);

	qm->drain_expired = 1;
}

/* SIGTERM: no new work; wait for jobs, writes and DSNs, then stop. */
static void qm_drain_step(struct qm *qm)
{
	size_t jobs = 0;

	for (const struct qm_agent *a = qm->agents; a != NULL; a = a->next)
		jobs += a->inflight;
	if (!qm->drain_expired && (jobs > 0 || qm->nsw > 0 ||
	    qm->nswb > 0 || qm->dsnsubs != NULL || qm->nsettle > 0))
		return;
	if (jobs > 0)
		log_info("stopping with %zu jobs in flight: their messages "
		    "stay queued", jobs);
	qm_agent_close_all(qm);
	qm_ctl_close_all(qm);
	if (qm->own_agent) {
		unlink(qm->agent_path);
		qm->own_agent = 0;
	}
	if (qm->own_ctl) {
		unlink(qm->ctl_path);
		qm->own_ctl = 0;
	}
	/* Closed connections go once their cancelled ops come back. */
	if (qm->nclosing == 0 || qm->drain_expired > 1)
		ev_stop(&qm->loop);
	else if (qm->drain_expired)
		qm->drain_expired++;
}

static void qm_on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, sig.op);

	if (res == (int)sizeof(qm->sig.si) && !qm->stopping) {
		log_info("stopping: %u messages active", qm->nactive);
		qm->stopping = 1;
		ev_cancel_op(&qm->loop, &qm->agent_accept_op);
		ev_cancel_op(&qm->loop, &qm->ctl_accept_op);
		qm->drain_op.fn = qm_on_drain_timer;
		ev_timeout(&qm->loop, &qm->drain_op, &qm->drain_ts,
		    QM_DRAIN_MS);
	}
	if (res < 0 && res != -EINTR && res != -EAGAIN)
		panic("signalfd read: %s", strerror(-res));
	ev_signal_read(&qm->loop, &qm->sig);
}

void qm_before_sleep(struct ev_loop *loop, void *arg)
{
	struct qm *qm = arg;

	qm_scan_step(qm);
	qm_msg_settle_run(qm);
	qm_jobs_dispatch(qm);
	qm_agent_flush(qm);
	qm_status_kick(qm);
	qm_fin_sweep(qm);
	qm_writer_flush(qm);
	if (qm->stopping)
		qm_drain_step(qm);
}

void qm_setup(struct qm *qm, const struct conf *conf)
{
	int rc;

	memset(qm, 0, sizeof(*qm));
	qm->conf = conf;
	qm->sig.fd = -1;
	buf_init(&qm->rbuf, 0);
	if ((rc = ev_signal_open(&qm->sig, qm_on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	qm_limits(qm);
	qm_dirs(qm);
	if (fds_get(MTA_FD_ROLE_TRANSPORT, &qm->tp_fd, 1) != 1)
		qm->tp_fd = -1;
	else if (fcntl(qm->tp_fd, F_SETFD, FD_CLOEXEC) < 0)
		fatal("inherited transport_file descriptor");
	qm_transport_check(qm, 1);
	qm->agent_fd = qm_listen(qm, MTA_FD_ROLE_AGENT, MTA_AGENT_SOCK, 0666,
	    &qm->own_agent, qm->agent_path, sizeof(qm->agent_path));
	qm->ctl_fd = qm_listen(qm, MTA_FD_ROLE_QMGRCTL, MTA_QMGR_SOCK, 0600,
	    &qm->own_ctl, qm->ctl_path, sizeof(qm->ctl_path));
	qm_sched_init(&qm->sched, conf->destination_concurrency,
	    conf->retry_min < 60 ? conf->retry_min : 60);
	if ((rc = ev_init(&qm->loop, QM_RING_ENTRIES)) < 0)
		fatalx("io_uring: %s", strerror(-rc));
	qm->kick_op.fn = qm_on_kick;
	qm->tick_op.fn = qm_on_tick;
	ev_timeout(&qm->loop, &qm->tick_op, &qm->tick_ts, QM_TICK_MS);
	qm->next_deferred_scan = qm_now() + (conf->retry_min < 60 ?
	    conf->retry_min : 60);
	ev_signal_read(&qm->loop, &qm->sig);
	qm_writer_start(qm);
	qm_agent_start(qm);
	qm_ctl_start(qm);
	qm->loop.before_sleep = qm_before_sleep;
	qm->loop.before_sleep_arg = qm;
}
