/* master_child: the supervisor's table of daemons.  Each slot is one
 * daemon of a kind (master_kind.c) and a config generation;
 * a slot whose daemon died unexpectedly waits out its backoff and starts
 * again, a slot that was told to stop disappears when its process exits.
 * Every change rewrites run/status.  Called from master_loop.c only. */
#include "master/master.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

long long master_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void master_child_start(struct master *m, struct master_child *k)
{
	const char *roles[MASTER_FDS_MAX];
	int fds[MASTER_FDS_MAX];
	struct master_spawn s = { .conf_path = m->conf_path,
	    .state_dir = m->conf.state_dir, .fds = fds, .roles = roles };
	pid_t pid;

	s.path = m->prog[k->kind];
	s.user = m->users.on ? master_kind_user(&m->users, k->kind) : NULL;
	s.nfds = master_kind_fds(m, k->kind, fds, roles);
	if (s.user != NULL && master_kind_reads_users(k->kind)) {
		s.groups = &m->users.auth;
		s.ngroups = 1;
	}
	if (k->kind == MASTER_QMGR) {
		s.file_path = m->conf.transport_file;
		s.file_role = MTA_FD_ROLE_TRANSPORT;
	}
	k->gen = m->gen;
	k->replace = 0;
	k->started_ms = master_now_ms();
	pid = master_spawn(&s);
	if (pid < 0) {
		k->backoff = master_backoff_next(k->backoff, 0);
		log_warn("cannot start %s: %s; retrying in %us",
		    master_kind_name(k->kind), strerror((int)-pid), k->backoff);
		k->pid = 0;
		k->state = MASTER_RESTARTING;
		k->due_ms = k->started_ms + (long long)k->backoff * 1000;
	} else {
		k->pid = pid;
		k->state = MASTER_RUNNING;
		k->due_ms = 0;
	}
	master_child_status(m);
}

struct master_child *master_child_add(struct master *m, enum master_kind kind)
{
	struct master_child *k;

	if (m->nkids == m->capkids) {
		m->capkids = m->capkids ? m->capkids * 2 : 8;
		m->kids = xreallocarray(m->kids, m->capkids, sizeof(*m->kids));
	}
	k = &m->kids[m->nkids++];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	master_child_start(m, k);
	return k;
}

static void master_child_remove(struct master *m, size_t i)
{
	memmove(&m->kids[i], &m->kids[i + 1],
	    (m->nkids - i - 1) * sizeof(*m->kids));
	m->nkids--;
}

/* "exited with status N" / "killed by signal S" into out. */
static void master_child_how(int status, char *out, size_t outlen)
{
	if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by signal %d%s", WTERMSIG(status),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(out, outlen, "exited with status %d",
		    WEXITSTATUS(status));
}

void master_child_exited(struct master *m, pid_t pid, int status)
{
	struct master_child *k = NULL;
	char how[64];
	size_t i;

	for (i = 0; i < m->nkids && k == NULL; i++)
		if (m->kids[i].pid == pid)
			k = &m->kids[i];
	if (k == NULL)
		return;		/* a helper (master_privsep_check) */
	i--;
	/* Its connections died with it: free its counts before a restart. */
	if (k->kind == MASTER_SMTPD && m->connlimit_fd >= 0)
		connlimit_reap(&m->connlimit, pid);
	master_child_how(status, how, sizeof(how));
	if (k->state == MASTER_STOPPING || m->stopping) {
		log_info("%s[%ld] stopped (%s)", master_kind_name(k->kind),
		    (long)pid, how);
		if (k->replace && !m->stopping)
			master_child_start(m, k);	/* reload: new writer */
		else
			master_child_remove(m, i);
		master_child_status(m);
		return;
	}
	k->backoff = master_backoff_next(k->backoff,
	    master_now_ms() - k->started_ms);
	log_warn("%s[%ld] %s; restarting in %us", master_kind_name(k->kind),
	    (long)pid, how, k->backoff);
	k->pid = 0;
	k->state = MASTER_RESTARTING;
	k->due_ms = master_now_ms() + (long long)k->backoff * 1000;
	master_child_status(m);
}

void master_child_timers(struct master *m)
{
	long long now = master_now_ms();
	size_t i;

	for (i = 0; i < m->nkids; i++) {
		struct master_child *k = &m->kids[i];

		if (k->due_ms == 0 || k->due_ms > now)
			continue;
		if (k->state == MASTER_RESTARTING && !m->stopping) {
			master_child_start(m, k);
		} else if (k->state == MASTER_STOPPING && k->pid > 0) {
			log_warn("%s[%ld] did not stop in time; killing it",
			    master_kind_name(k->kind), (long)k->pid);
			kill(k->pid, SIGKILL);
			k->due_ms = 0;
		}
	}
}

int master_child_next_timer(const struct master *m)
{
	long long now = master_now_ms(), next = -1;
	size_t i;

	for (i = 0; i < m->nkids; i++) {
		long long d = m->kids[i].due_ms;

		if (d != 0 && (next < 0 || d < next))
			next = d;
	}
	if (next < 0)
		return -1;
	if (next <= now)
		return 0;
	return next - now > 3600000 ? 3600000 : (int)(next - now);
}

void master_child_stop(struct master *m, enum master_kind kind, unsigned gen,
    unsigned grace_s)
{
	long long now = master_now_ms();
	size_t i = m->nkids;

	while (i-- > 0) {
		struct master_child *k = &m->kids[i];

		if (k->kind != kind || (gen != 0 && k->gen >= gen))
			continue;
		if (k->state == MASTER_RESTARTING) {
			master_child_remove(m, i);	/* nothing to wait for */
		} else if (k->state == MASTER_RUNNING) {
			kill(k->pid, SIGTERM);
			k->state = MASTER_STOPPING;
			k->due_ms = grace_s ? now + (long long)grace_s * 1000 : 0;
		}
	}
	master_child_status(m);
}

size_t master_child_count(const struct master *m, enum master_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < m->nkids; i++)
		n += m->kids[i].kind == kind;
	return n;
}

void master_child_status(const struct master *m)
{
	struct master_status_line *v;
	static int warned;
	size_t i;
	int rc;

	v = xcalloc(m->nkids ? m->nkids : 1, sizeof(*v));
	for (i = 0; i < m->nkids; i++) {
		v[i].name = master_kind_name(m->kids[i].kind);
		v[i].pid = m->kids[i].pid;
		v[i].state = m->kids[i].state;
	}
	rc = master_status_write(m->conf.state_dir, v, m->nkids);
	if (rc < 0 && !warned++)
		log_warn("cannot write run/%s: %s", MASTER_STATUS_FILE,
		    strerror(-rc));
	free(v);
}
