/* Unit tests for master_kind: the daemon table — names (run/status), the
 * user each kind drops to, the sockets each inherits with their MTA_FDS
 * roles (mta-remote: none), and the socket each must be able to reach. */
#include <criterion/criterion.h>

#include "master/master.h"
#include "lib/fds.h"
#include "lib/mem.h"

#include <stdlib.h>
#include <string.h>

static struct master *fake_master(size_t nsmtp)
{
	struct master *m = xcalloc(1, sizeof(*m));
	size_t i;

	m->qwriter_fd = 10;
	m->agent_fd = 11;
	m->qmgrctl_fd = 12;
	m->tls_fd = -1;
	m->connlimit_fd = -1;
	for (i = 0; i < nsmtp; i++)
		m->ls[MASTER_SVC_SMTP].v[i].fd = 20 + (int)i;
	m->ls[MASTER_SVC_SMTP].n = nsmtp;
	return m;
}

Test(master_kind, names_are_the_program_names)
{
	cr_assert_str_eq(master_kind_name(MASTER_QWRITER), "mta-qwriter");
	cr_assert_str_eq(master_kind_name(MASTER_QMGR), "mta-qmgr");
	cr_assert_str_eq(master_kind_name(MASTER_REMOTE), "mta-remote");
	cr_assert_str_eq(master_kind_name(MASTER_SMTPD), "mta-smtpd");
	cr_assert_str_eq(master_kind_name(MASTER_NKINDS), "mta-unknown");
}

Test(master_kind, start_order_is_writer_qmgr_agents_smtpd)
{
	cr_assert_lt(MASTER_QWRITER, MASTER_QMGR);
	cr_assert_lt(MASTER_QMGR, MASTER_REMOTE);
	cr_assert_lt(MASTER_REMOTE, MASTER_SMTPD);
}

Test(master_kind, users)
{
	struct master_users u;

	memset(&u, 0, sizeof(u));
	cr_assert_eq(master_kind_user(&u, MASTER_QWRITER), &u.queue);
	cr_assert_eq(master_kind_user(&u, MASTER_QMGR), &u.queue,
	    "qmgr shares the spool with the writer");
	cr_assert_eq(master_kind_user(&u, MASTER_REMOTE), &u.remote);
	cr_assert_eq(master_kind_user(&u, MASTER_SMTPD), &u.smtpd);
}

Test(master_kind, inherited_sockets_and_roles)
{
	struct master *m = fake_master(3);
	const char *roles[MASTER_FDS_MAX];
	int fds[MASTER_FDS_MAX];

	cr_assert_eq(master_kind_fds(m, MASTER_QWRITER, fds, roles), 1);
	cr_assert_eq(fds[0], 10);
	cr_assert_str_eq(roles[0], MTA_FD_ROLE_QWRITER);

	cr_assert_eq(master_kind_fds(m, MASTER_QMGR, fds, roles), 2);
	cr_assert_eq(fds[0], 11);
	cr_assert_str_eq(roles[0], "agent");
	cr_assert_eq(fds[1], 12);
	cr_assert_str_eq(roles[1], "qmgrctl");

	cr_assert_eq(master_kind_fds(m, MASTER_REMOTE, fds, roles), 0,
	    "the remote agent inherits nothing but state_dir and conf");

	cr_assert_eq(master_kind_fds(m, MASTER_SMTPD, fds, roles), 3);
	cr_assert_eq(fds[2], 22);
	cr_assert_str_eq(roles[2], MTA_FD_ROLE_SMTP);
	free(m);
}

Test(master_kind, smtpd_gets_every_smtp_service_and_the_tls_memfd)
{
	struct master *m = fake_master(1);
	const char *roles[MASTER_FDS_MAX];
	int fds[MASTER_FDS_MAX];

	m->ls[MASTER_SVC_SUBMISSION].v[0].fd = 40;
	m->ls[MASTER_SVC_SUBMISSION].n = 1;
	m->ls[MASTER_SVC_SMTPS].v[0].fd = 41;
	m->ls[MASTER_SVC_SMTPS].n = 1;
	m->ls[MASTER_SVC_POP3S].v[0].fd = 42;
	m->ls[MASTER_SVC_POP3S].n = 1;
	m->tls_fd = 50;
	cr_assert_eq(master_kind_fds(m, MASTER_SMTPD, fds, roles), 4);
	cr_assert_str_eq(roles[0], MTA_FD_ROLE_SMTP);
	cr_assert_eq(fds[1], 40);
	cr_assert_str_eq(roles[1], MTA_FD_ROLE_SUBMISSION);
	cr_assert_eq(fds[2], 41);
	cr_assert_str_eq(roles[2], MTA_FD_ROLE_SMTPS);
	cr_assert_eq(fds[3], 50);
	cr_assert_str_eq(roles[3], MTA_FD_ROLE_TLS);
	cr_assert_eq(master_kind_fds(m, MASTER_POP3D, fds, roles), 2,
	    "pop3s only (no pop3 listener here) and the memfd");
	cr_assert_str_eq(roles[0], MTA_FD_ROLE_POP3S);
	cr_assert_eq(fds[1], 50);
	free(m);
}

Test(master_kind, only_smtpd_gets_the_connection_table)
{
	struct master *m = fake_master(1);
	const char *roles[MASTER_FDS_MAX];
	int fds[MASTER_FDS_MAX];

	m->ls[MASTER_SVC_POP3].v[0].fd = 30;
	m->ls[MASTER_SVC_POP3].n = 1;
	m->connlimit_fd = 60;
	cr_assert_eq(master_kind_fds(m, MASTER_SMTPD, fds, roles), 2);
	cr_assert_eq(fds[1], 60);
	cr_assert_str_eq(roles[1], MTA_FD_ROLE_CONNLIMIT);
	cr_assert_eq(master_kind_fds(m, MASTER_POP3D, fds, roles), 1,
	    "pop3d is one process: its table is its own");
	cr_assert_str_eq(roles[0], MTA_FD_ROLE_POP3);
	free(m);
}

Test(master_kind, sockets_each_kind_connects_to)
{
	cr_assert_null(master_kind_connects(MASTER_QWRITER));
	cr_assert_str_eq(master_kind_connects(MASTER_QMGR), "qwriter.sock");
	cr_assert_str_eq(master_kind_connects(MASTER_REMOTE), "agent.sock");
	cr_assert_str_eq(master_kind_connects(MASTER_SMTPD), "qwriter.sock");
	cr_assert_str_eq(MTA_AGENT_SOCK, "agent.sock");
	cr_assert_str_eq(MTA_QMGR_SOCK, "qmgr.sock");
}

Test(master_kind, pop3d_runs_as_local_on_pop3_listeners)
{
	struct master *m = fake_master(0);
	const char *roles[MASTER_FDS_MAX];
	struct master_users u;
	int fds[MASTER_FDS_MAX];

	memset(&u, 0, sizeof(u));
	cr_assert_str_eq(master_kind_name(MASTER_POP3D), "mta-pop3d");
	cr_assert_eq(master_kind_user(&u, MASTER_POP3D), &u.local,
	    "the mailboxes belong to user_local");
	cr_assert_null(master_kind_connects(MASTER_POP3D));
	m->ls[MASTER_SVC_POP3].v[0].fd = 30;
	m->ls[MASTER_SVC_POP3].v[1].fd = 31;
	m->ls[MASTER_SVC_POP3].n = 2;
	cr_assert_eq(master_kind_fds(m, MASTER_POP3D, fds, roles), 2);
	cr_assert_eq(fds[1], 31);
	cr_assert_str_eq(roles[0], MTA_FD_ROLE_POP3);
	free(m);
}
