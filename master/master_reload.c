/* master_reload: SIGHUP.  Re-read the config; on any error log it and keep
 * running as before.  Otherwise start a new generation of smtpd workers
 * (on the new listeners, kept sockets shared) and of remote agents, SIGTERM
 * the old ones, restart the queue manager (always: its settings include
 * files such as transport_file whose contents the master cannot compare;
 * it rescans the queue) and the queue writer only if its settings changed.
 * One writer and one qmgr at a time: each new one starts when the old one
 * has exited. */
#include "master/master.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Everything that can fail, before anything changes.  0 or -1 (logged). */
static int master_reload_prepare(struct master *m, struct conf *nc,
    char *path, size_t pathlen, struct master_users *nu,
    struct master_listeners *nl, int *tls_fd)
{
	char err[CONF_ERR_MAX + 2 * sizeof(nc->state_dir) + 128];

	if (master_conf_load(nc, m->conf_arg, path, pathlen, err,
	    sizeof(err)) < 0)
		goto fail;
	if (strcmp(nc->state_dir, m->conf.state_dir) != 0) {
		snprintf(err, sizeof(err), "state_dir changed from %s to %s: "
		    "restart the master to move it", m->conf.state_dir,
		    nc->state_dir);
		goto fail;
	}
	if (master_users_lookup(nc, nu, err, sizeof(err)) < 0)
		goto fail;
	if (nu->on && master_kinds_check(m, nu, path, err, sizeof(err)) < 0)
		goto fail;
	/* The certificate is re-read too: SIGHUP is how a renewed one is
	 * taken up (the new workers get the new memfd). */
	if ((*tls_fd = master_tls_prepare(nc, m->tls_tickets, err,
	    sizeof(err))) < 0)
		goto fail;
	if (master_svc_open(nl, nc, m->ls, err, sizeof(err)) < 0) {
		close(*tls_fd);
		goto fail;
	}
	return 0;
fail:
	log_warn("reload failed, keeping the running configuration: %s", err);
	return -1;
}

/* Writer or qmgr: replace it after it exits (never two at once). */
static void master_reload_replace(struct master *m, enum master_kind kind)
{
	long long now = master_now_ms();
	size_t i;

	for (i = 0; i < m->nkids; i++) {
		struct master_child *k = &m->kids[i];

		if (k->kind != kind || k->state != MASTER_RUNNING)
			continue;	/* a pending restart picks up the new conf */
		kill(k->pid, SIGTERM);
		k->state = MASTER_STOPPING;
		k->replace = 1;
		k->due_ms = now + (long long)MASTER_DRAIN_SEC * 1000;
	}
}

void master_reload(struct master *m)
{
	struct conf *nc = xcalloc(1, sizeof(*nc));
	struct master_users nu;
	struct master_listeners *nl = xcalloc(MASTER_NSVC, sizeof(*nl));
	char path[sizeof(m->conf_path)], err[512];
	int qw, tls_fd;
	unsigned i;

	log_info("SIGHUP: reloading the configuration");
	if (master_reload_prepare(m, nc, path, sizeof(path), &nu, nl,
	    &tls_fd) < 0) {
		conf_free(nc);
		free(nc);
		free(nl);
		return;
	}
	qw = master_qwriter_changed(&m->conf, nc) ||
	    strcmp(path, m->conf_path) != 0;
	if (qw && nu.on && nu.queue.uid != m->users.queue.uid &&
	    master_statedir_setup(nc->state_dir, &nu.queue, &nu.local, err,
	    sizeof(err)) < 0)
		log_warn("reload: %s", err);
	if (!master_listen_same(m->conf.smtp_listen, m->conf.n_smtp_listen,
	    nc->smtp_listen, nc->n_smtp_listen))
		log_info("reload: smtp_listen changed");
	if (qw)
		log_info("reload: the queue writer's settings changed; "
		    "restarting it");
	log_info("reload: restarting the queue manager and the delivery "
	    "agents");
	master_svc_close(m->ls, nl);
	memcpy(m->ls, nl, sizeof(m->ls));
	close(m->tls_fd);
	m->tls_fd = tls_fd;
	conf_free(&m->conf);
	m->conf = *nc;		/* the heap parts move with it */
	memcpy(m->conf_path, path, sizeof(path));
	m->users = nu;
	m->gen++;
	for (i = 0; i < m->conf.remote_workers; i++)
		master_child_add(m, MASTER_REMOTE);
	master_child_stop(m, MASTER_REMOTE, m->gen, MASTER_DRAIN_SEC);
	master_child_add(m, MASTER_LOCAL);
	master_child_stop(m, MASTER_LOCAL, m->gen, MASTER_DRAIN_SEC);
	for (i = 0; i < m->conf.smtpd_workers; i++)
		master_child_add(m, MASTER_SMTPD);
	master_child_stop(m, MASTER_SMTPD, m->gen, MASTER_RELOAD_DRAIN_SEC);
	if (master_svc_wanted(&m->conf, MASTER_POP3D))
		master_child_add(m, MASTER_POP3D);
	master_child_stop(m, MASTER_POP3D, m->gen, MASTER_DRAIN_SEC);
	if (qw)
		master_reload_replace(m, MASTER_QWRITER);
	master_reload_replace(m, MASTER_QMGR);
	master_child_status(m);
	log_info("reloaded configuration from %s",
	    m->conf_path[0] ? m->conf_path : "(defaults)");
	free(nc);
	free(nl);
}
