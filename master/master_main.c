/* mta-master [-c FILE] [-F]: the supervisor.  Parses argv and wires the
 * pieces in their one safe order: config, users, programs, state dir,
 * (daemonize), pid lock, listeners and Unix sockets, access checks, then
 * the daemons (master_kind.c: writer, qmgr, remote agents, smtpd).
 * Exit 2 for a config error, 1 for any other start-up failure, 0 after a
 * clean stop.  See master/master.h for the pieces. */
#include "master/master.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct master master;

static void usage(void)
{
	fprintf(stderr, "usage: mta-master [-c FILE] [-F]\n");
	exit(64);
}

/* Every daemon's program, next to us or installed: all must exist (a
 * master without its queue manager would accept mail it never sends). */
static void master_find_programs(struct master *m)
{
	char dir[4096];
	unsigned k;
	int rc;

	if ((rc = master_exe_dir(dir, sizeof(dir))) < 0)
		fatalx("/proc/self/exe: %s", strerror(-rc));
	for (k = 0; k < MASTER_NKINDS; k++)
		if (master_find_program(dir, master_kind_name(k), m->prog[k],
		    sizeof(m->prog[k])) < 0)
			fatalx("cannot find %s in %s or %s/../libexec/mta",
			    master_kind_name(k), dir, dir);
}

/* run/NAME into out, or fatal. */
static void master_run_path(const struct master *m, const char *name,
    char *out, size_t outlen)
{
	if (snprintf(out, outlen, "%s/run/%s", m->conf.state_dir, name) >=
	    (int)outlen)
		fatalx("state_dir %s: path too long", m->conf.state_dir);
}

/* Config, users, programs, state dir: what is checked before forking. */
static void master_setup(struct master *m)
{
	char err[CONF_ERR_MAX + 256];

	if (master_conf_load(&m->conf, m->conf_arg, m->conf_path,
	    sizeof(m->conf_path), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	if (master_users_lookup(&m->conf, &m->users, err, sizeof(err)) < 0)
		fatalx("%s", err);
	master_find_programs(m);
	if (master_statedir_setup(m->conf.state_dir,
	    m->users.on ? &m->users.queue : NULL,
	    m->users.on ? &m->users.local : NULL, err, sizeof(err)) < 0)
		fatalx("%s", err);
	master_run_path(m, MTA_QWRITER_SOCK, m->qwriter_sock,
	    sizeof(m->qwriter_sock));
	master_run_path(m, MTA_AGENT_SOCK, m->agent_sock, sizeof(m->agent_sock));
	master_run_path(m, MTA_QMGR_SOCK, m->qmgr_sock, sizeof(m->qmgr_sock));
}

/* The Unix sockets: anyone may reach the writer's (it checks its peers)
 * and the agents' (qmgr checks each agent's uid); only root (or, without
 * privilege separation, the invoking user) reaches qmgr's control socket. */
static void master_listen_sockets(struct master *m)
{
	const struct {
		const char *path;
		unsigned mode;
		int *fd;
	} v[] = {
		{ m->qwriter_sock, 0666, &m->qwriter_fd },
		{ m->agent_sock, 0666, &m->agent_fd },
		{ m->qmgr_sock, 0600, &m->qmgrctl_fd },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++)
		if ((*v[i].fd = master_listen_unix(v[i].path, v[i].mode)) < 0)
			fatalx("cannot listen on %s: %s", v[i].path,
			    strerror(-*v[i].fd));
}

/* The smtpd workers' shared connection table (lib/connlimit.h): room
 * for two generations of workers, as during a reload's drain. */
static void master_connlimit(struct master *m)
{
	unsigned n = 2 * m->conf.smtpd_workers + 2;

	if (n > CONNLIMIT_SLICES_MAX)
		n = CONNLIMIT_SLICES_MAX;
	if ((m->connlimit_fd = connlimit_create(&m->connlimit, n)) < 0)
		fatalx("connection table: %s", strerror(-m->connlimit_fd));
}

/* Lock, bind, check: after this the master is "up". */
static void master_bind(struct master *m)
{
	char err[CONF_ERR_MAX + 256];
	pid_t other;
	int rc;

	rc = master_pidfile_lock(m->conf.state_dir, &other);
	if (rc == -EEXIST)
		fatalx("another mta-master (pid %ld) is running for %s",
		    (long)other, m->conf.state_dir);
	if (rc < 0)
		fatalx("%s/run/%s: %s", m->conf.state_dir, MTA_MASTER_PID,
		    strerror(-rc));
	m->pid_fd = rc;
	if ((rc = master_signals_init(m)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	if (master_svc_open(m->ls, &m->conf, NULL, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (RAND_bytes(m->tls_tickets, sizeof(m->tls_tickets)) != 1)
		fatalx("no random bytes for the TLS ticket keys");
	if ((m->tls_fd = master_tls_prepare(&m->conf, m->tls_tickets, err,
	    sizeof(err))) < 0)
		fatalx("TLS: %s", err);
	master_listen_sockets(m);
	master_connlimit(m);
	if (m->users.on &&
	    master_kinds_check(m, &m->users, m->conf_path, err, sizeof(err)) < 0)
		fatalx("a daemon user cannot use what it needs: %s (the "
		    "config file must be readable and the programs executable "
		    "by the daemon users)", err);
}

static void master_start_daemons(struct master *m)
{
	const struct conf *c = &m->conf;
	unsigned i;

	log_info("starting: config %s, state_dir %s, %u smtpd workers, "
	    "%u remote workers", m->conf_path[0] ? m->conf_path : "(defaults)",
	    c->state_dir, c->smtpd_workers, c->remote_workers);
	if (!m->users.on)
		log_info("privilege separation is off (not started as root)");
	for (unsigned s = 0; s < MASTER_NSVC; s++) {
		size_t n;
		const struct conf_listen *v = master_svc_want(c, s, &n);

		for (size_t j = 0; j < n; j++)
			log_info("%s: %s", master_svc_key(s), v[j].text);
	}
	master_child_add(m, MASTER_QWRITER);
	master_child_add(m, MASTER_QMGR);
	for (i = 0; i < c->remote_workers; i++)
		master_child_add(m, MASTER_REMOTE);
	master_child_add(m, MASTER_LOCAL);
	for (i = 0; i < c->smtpd_workers; i++)
		master_child_add(m, MASTER_SMTPD);
	if (master_svc_wanted(c, MASTER_POP3D))
		master_child_add(m, MASTER_POP3D);
}

int main(int argc, char **argv)
{
	struct master *m = &master;
	char logpath[4096];
	int ch, foreground = 0, rc;

	log_init("mta-master");
	while ((ch = getopt(argc, argv, "c:F")) != -1) {
		switch (ch) {
		case 'c':
			m->conf_arg = optarg;
			break;
		case 'F':
			foreground = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	umask(022);
	m->pid_fd = m->sig_fd = m->qwriter_fd = m->agent_fd = m->qmgrctl_fd = -1;
	m->tls_fd = m->connlimit_fd = -1;
	master_setup(m);
	if (!foreground)
		master_daemon_start();
	master_bind(m);
	if (!foreground) {
		if (snprintf(logpath, sizeof(logpath), "%s/log/%s",
		    m->conf.state_dir, MASTER_LOG_FILE) >= (int)sizeof(logpath))
			fatalx("state_dir %s: path too long", m->conf.state_dir);
		if ((rc = master_daemon_log(logpath)) < 0)
			fatalx("%s: %s", logpath, strerror(-rc));
	}
	master_start_daemons(m);
	if (!foreground)
		master_daemon_release();
	rc = master_loop(m);
	unlink(m->qwriter_sock);
	unlink(m->agent_sock);
	unlink(m->qmgr_sock);
	master_status_remove(m->conf.state_dir);
	master_pidfile_remove(m->conf.state_dir, m->pid_fd);
	conf_free(&m->conf);
	free(m->kids);
	return rc;
}
