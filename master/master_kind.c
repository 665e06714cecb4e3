/* master_kind: the table of daemons the master runs — each kind's program,
 * the user it drops to, the listening sockets it inherits (MTA_FDS roles)
 * and the socket in run/ it connects to.  The supervisor (master_child.c),
 * the start-up checks (master_main.c) and reload (master_reload.c) all
 * read it here, so adding a daemon is one row.  mta-remote inherits no
 * socket and no spool access: it reaches run/agent.sock through state_dir
 * and gets each queue file as a descriptor from the queue manager. */
#include "master/master.h"
#include "lib/fds.h"

#include <stdio.h>

static const struct master_kind_row {
	const char *name;
	const char *connects;	/* run/ socket it must be able to reach */
} master_kinds[MASTER_NKINDS] = {
	[MASTER_QWRITER] = { MASTER_PROG_QWRITER, NULL },
	[MASTER_QMGR] = { MASTER_PROG_QMGR, MTA_QWRITER_SOCK },
	[MASTER_REMOTE] = { MASTER_PROG_REMOTE, MTA_AGENT_SOCK },
	[MASTER_LOCAL] = { MASTER_PROG_LOCAL, MTA_AGENT_SOCK },
	[MASTER_SMTPD] = { MASTER_PROG_SMTPD, MTA_QWRITER_SOCK },
	[MASTER_POP3D] = { MASTER_PROG_POP3D, NULL },
};

const char *master_kind_name(enum master_kind kind)
{
	return kind < MASTER_NKINDS ? master_kinds[kind].name : "mta-unknown";
}

int master_kind_reads_users(enum master_kind kind)
{
	switch (kind) {
	case MASTER_SMTPD:	/* is the recipient a user? */
	case MASTER_LOCAL:	/* deliver, or 5.1.1 */
	case MASTER_POP3D:	/* passwords */
		return 1;
	case MASTER_QWRITER:
	case MASTER_QMGR:
	case MASTER_REMOTE:
	case MASTER_NKINDS:
		break;
	}
	return 0;
}

const char *master_kind_connects(enum master_kind kind)
{
	return kind < MASTER_NKINDS ? master_kinds[kind].connects : NULL;
}

const struct master_user *master_kind_user(const struct master_users *u,
    enum master_kind kind)
{
	switch (kind) {
	case MASTER_QWRITER:
	case MASTER_QMGR:
		return &u->queue;	/* both own the spool */
	case MASTER_REMOTE:
		return &u->remote;
	case MASTER_LOCAL:
		return &u->local;
	case MASTER_POP3D:
		return &u->local;	/* the mailboxes are the local user's */
	case MASTER_SMTPD:
	case MASTER_NKINDS:
		break;
	}
	return &u->smtpd;
}

size_t master_kind_fds(const struct master *m, enum master_kind kind,
    int *fds, const char **roles)
{
	size_t i, n = 0;

	switch (kind) {
	case MASTER_QWRITER:
		fds[n] = m->qwriter_fd;
		roles[n++] = MTA_FD_ROLE_QWRITER;
		break;
	case MASTER_QMGR:
		fds[n] = m->agent_fd;
		roles[n++] = MTA_FD_ROLE_AGENT;
		fds[n] = m->qmgrctl_fd;
		roles[n++] = MTA_FD_ROLE_QMGRCTL;
		break;
	case MASTER_SMTPD:
	case MASTER_POP3D:
		for (unsigned s = 0; s < MASTER_NSVC; s++) {
			if (master_svc_kind(s) != kind)
				continue;
			for (i = 0; i < m->ls[s].n && n < MASTER_FDS_MAX; i++) {
				fds[n] = m->ls[s].v[i].fd;
				roles[n++] = master_svc_role(s);
			}
		}
		if (m->tls_fd >= 0 && n < MASTER_FDS_MAX) {
			fds[n] = m->tls_fd;
			roles[n++] = MTA_FD_ROLE_TLS;
		}
		if (kind == MASTER_SMTPD && m->connlimit_fd >= 0 &&
		    n < MASTER_FDS_MAX) {
			fds[n] = m->connlimit_fd;
			roles[n++] = MTA_FD_ROLE_CONNLIMIT;
		}
		break;
	case MASTER_LOCAL:
	case MASTER_REMOTE:
	case MASTER_NKINDS:
		break;
	}
	return n;
}

int master_kinds_check(const struct master *m, const struct master_users *u,
    const char *conf_path, char *err, size_t errlen)
{
	char why[512];
	unsigned k;

	for (k = 0; k < MASTER_NKINDS; k++) {
		if (master_privsep_check(master_kind_user(u, k), m->prog[k],
		    conf_path, m->conf.state_dir, master_kind_connects(k), why,
		    sizeof(why)) == 0)
			continue;
		snprintf(err, errlen, "%s as %s: %s", master_kinds[k].name,
		    master_kind_user(u, k)->name, why);
		return -1;
	}
	return 0;
}
