/* mta-master [-c FILE] [-F]: the supervisor.  Parses argv and wires the
 * pieces in their one safe order: config, users, programs, state dir,
 * (daemonize), pid lock, listeners, access checks, then the daemons.
 * Exit 2 for a config error, 1 for any other start-up failure, 0 after a
 * clean stop.  See master/master.h for the pieces. */
#include "master/master.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
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

/* Config, users, programs, state dir: what is checked before forking. */
static void master_setup(struct master *m)
{
	char err[CONF_ERR_MAX + 256], dir[4096];
	int rc;

	if (master_conf_load(&m->conf, m->conf_arg, m->conf_path,
	    sizeof(m->conf_path), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	if (master_users_lookup(&m->conf, &m->users, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if ((rc = master_exe_dir(dir, sizeof(dir))) < 0)
		fatalx("/proc/self/exe: %s", strerror(-rc));
	if (master_find_program(dir, MASTER_PROG_SMTPD, m->prog_smtpd,
	    sizeof(m->prog_smtpd)) < 0 ||
	    master_find_program(dir, MASTER_PROG_QWRITER, m->prog_qwriter,
	    sizeof(m->prog_qwriter)) < 0)
		fatalx("cannot find %s and %s in %s or %s/../libexec/mta",
		    MASTER_PROG_SMTPD, MASTER_PROG_QWRITER, dir, dir);
	if (master_statedir_setup(m->conf.state_dir,
	    m->users.on ? &m->users.queue : NULL, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (snprintf(m->qwriter_sock, sizeof(m->qwriter_sock), "%s/run/%s",
	    m->conf.state_dir, MTA_QWRITER_SOCK) >= (int)sizeof(m->qwriter_sock))
		fatalx("state_dir %s: path too long", m->conf.state_dir);
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
	if (master_listeners_open(&m->smtp, m->conf.smtp_listen,
	    m->conf.n_smtp_listen, NULL, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if ((m->qwriter_fd = master_listen_unix(m->qwriter_sock, 0666)) < 0)
		fatalx("cannot listen on %s: %s", m->qwriter_sock,
		    strerror(-m->qwriter_fd));
	if (m->users.on &&
	    (master_privsep_check(&m->users.smtpd, m->prog_smtpd, m->conf_path,
	    m->conf.state_dir, 1, err, sizeof(err)) < 0 ||
	    master_privsep_check(&m->users.queue, m->prog_qwriter,
	    m->conf_path, m->conf.state_dir, 0, err, sizeof(err)) < 0))
		fatalx("a daemon user cannot use what it needs: %s (the "
		    "config file must be readable and the programs executable "
		    "by the daemon users)", err);
}

static void master_start_daemons(struct master *m)
{
	const struct conf *c = &m->conf;
	unsigned i;

	log_info("starting: config %s, state_dir %s, %u smtpd workers",
	    m->conf_path[0] ? m->conf_path : "(defaults)", c->state_dir,
	    c->smtpd_workers);
	if (!m->users.on)
		log_info("privilege separation is off (not started as root)");
	for (i = 0; i < c->n_smtp_listen; i++)
		log_info("smtp_listen: %s", c->smtp_listen[i].text);
	if (c->n_submission_listen || c->n_smtps_listen || c->n_pop3_listen ||
	    c->n_pop3s_listen)
		log_info("submission_listen/smtps_listen/pop3_listen/"
		    "pop3s_listen: not served yet (TLS/POP3 issues)");
	master_child_add(m, MASTER_QWRITER);
	for (i = 0; i < c->smtpd_workers; i++)
		master_child_add(m, MASTER_SMTPD);
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
	m->pid_fd = m->sig_fd = m->qwriter_fd = -1;
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
	master_status_remove(m->conf.state_dir);
	master_pidfile_remove(m->conf.state_dir, m->pid_fd);
	conf_free(&m->conf);
	free(m->kids);
	return rc;
}
