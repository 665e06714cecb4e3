/* master_loop: the master's event loop.  Not a hot path: a signalfd polled
 * with the next supervisor deadline as timeout.  SIGCHLD reaps, SIGHUP
 * reloads, SIGTERM/SIGINT drain in order (enum master_stop: smtpd workers
 * and remote agents first so nothing new arrives and every delivery in
 * flight is reported, then the queue manager so it records the results,
 * then the queue writer so every accepted message is committed); a second
 * SIGTERM/SIGINT (a second later) kills what is left. */
#include "master/master.h"
#include "lib/log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int master_signals_init(struct master *m)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);	/* a closed log pipe must not kill us */
	m->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return m->sig_fd < 0 ? -errno : 0;
}

static void master_reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		master_child_exited(m, pid, status);
}

static void master_kill_all(struct master *m)
{
	size_t i;

	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].pid > 0)
			kill(m->kids[i].pid, SIGKILL);
}

/* Move the drain along: smtpd and agents gone -> stop qmgr -> stop the
 * writer -> done (1). */
static int master_drain_step(struct master *m)
{
	if (m->stopping == MASTER_STOP_FRONT &&
	    master_child_count(m, MASTER_SMTPD) == 0 &&
	    master_child_count(m, MASTER_REMOTE) == 0 &&
	    master_child_count(m, MASTER_LOCAL) == 0) {
		m->stopping = MASTER_STOP_QMGR;
		log_info("smtpd workers and delivery agents stopped; stopping "
		    "the queue manager");
		master_child_stop(m, MASTER_QMGR, 0, MASTER_DRAIN_SEC);
	}
	if (m->stopping == MASTER_STOP_QMGR &&
	    master_child_count(m, MASTER_QMGR) == 0) {
		m->stopping = MASTER_STOP_QWRITER;
		log_info("queue manager stopped; stopping the queue writer");
		master_child_stop(m, MASTER_QWRITER, 0, MASTER_DRAIN_SEC);
	}
	return m->stopping == MASTER_STOP_QWRITER && m->nkids == 0;
}

static void master_on_stop_signal(struct master *m, int sig)
{
	static long long first_ms;

	if (m->stopping) {
		/* Tools like timeout(1) signal the process and its group at
		 * once: only a later, deliberate second signal escalates. */
		if (master_now_ms() - first_ms < 1000)
			return;
		log_warn("SIG%s again: killing the daemons now", sigabbrev_np(sig));
		master_kill_all(m);
		return;
	}
	first_ms = master_now_ms();
	log_info("SIG%s: stopping (draining smtpd workers and delivery "
	    "agents, up to %ds)", sigabbrev_np(sig), MASTER_DRAIN_SEC);
	m->stopping = MASTER_STOP_FRONT;
	master_child_stop(m, MASTER_SMTPD, 0, MASTER_DRAIN_SEC);
	master_child_stop(m, MASTER_REMOTE, 0, MASTER_DRAIN_SEC);
	master_child_stop(m, MASTER_LOCAL, 0, MASTER_DRAIN_SEC);
	master_child_stop(m, MASTER_POP3D, 0, MASTER_DRAIN_SEC);
}

static void master_signals_read(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			if (!m->stopping)
				master_reload(m);
			break;
		case SIGTERM:
		case SIGINT:
			master_on_stop_signal(m, (int)si.ssi_signo);
			break;
		default:
			break;		/* SIGCHLD: reaped below */
		}
	}
}

int master_loop(struct master *m)
{
	struct pollfd pfd = { .fd = m->sig_fd, .events = POLLIN };

	for (;;) {
		if (poll(&pfd, 1, master_child_next_timer(m)) < 0 &&
		    errno != EINTR)
			fatal("poll");
		master_signals_read(m);
		master_reap(m);
		master_child_timers(m);
		if (m->stopping && master_drain_step(m))
			break;
	}
	log_info("stopped");
	return 0;
}
