/* Unit tests for master_privsep: the one drop path (as root, in a forked
 * child, with and without the auth group), which kinds get group_auth,
 * and the user lookup's refusal when a daemon user or the group is
 * missing. */
#include <criterion/criterion.h>

#include "master/master.h"
#include "lib/mem.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int user_nobody(struct master_user *u)
{
	struct passwd *pw = getpwnam("nobody");

	if (pw == NULL)
		return -1;
	snprintf(u->name, sizeof(u->name), "nobody");
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

Test(master_privsep, drop_is_complete_and_irreversible)
{
	struct master_user u;
	char err[256];
	int status;
	pid_t pid;

	if (geteuid() != 0 || user_nobody(&u) < 0)
		cr_skip_test("needs root and user nobody");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		gid_t g[1];
		if (master_privsep_drop(&u, err, sizeof(err)) < 0)
			_exit(1);
		/* Independently of the built-in verification: */
		if (getuid() != u.uid || geteuid() != u.uid ||
		    getgid() != u.gid || getegid() != u.gid)
			_exit(2);
		if (getgroups(1, g) != 0)
			_exit(3);
		if (setuid(0) == 0 || seteuid(0) == 0)
			_exit(4);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(5);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d", WEXITSTATUS(status));
}

Test(master_privsep, drop_fails_without_root)
{
	struct master_user u = { "x", 12345, 12345 };
	char err[256];
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* Become unprivileged first (if root) so the drop must fail. */
		if (geteuid() == 0) {
			struct master_user n;

			if (user_nobody(&n) < 0 ||
			    master_privsep_drop(&n, err, sizeof(err)) < 0)
				_exit(2);
		}
		_exit(master_privsep_drop(&u, err, sizeof(err)) < 0 &&
		    strstr(err, "set") != NULL ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(WEXITSTATUS(status), 0);
}

Test(master_privsep, missing_user_says_how_to_create_it)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	struct master_users u;
	char err[512];

	conf_defaults(c);
	snprintf(c->user_smtpd, sizeof(c->user_smtpd), "no-such-user-xyz");
	if (geteuid() != 0) {
		cr_assert_eq(master_users_lookup(c, &u, err, sizeof(err)), 0);
		cr_assert_eq(u.on, 0, "not root: privilege separation is off");
	} else {
		cr_assert_eq(master_users_lookup(c, &u, err, sizeof(err)), -1);
		cr_assert_not_null(strstr(err, "no-such-user-xyz"), "%s", err);
		cr_assert_not_null(strstr(err, "scripts/mkusers"), "%s", err);
	}
	conf_free(c);
	free(c);
}

Test(master_privsep, smtpd_and_queue_must_differ)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	struct master_users u;
	char err[512];

	if (geteuid() != 0 || getpwnam("nobody") == NULL)
		cr_skip_test("needs root and user nobody");
	conf_defaults(c);
	snprintf(c->user_smtpd, sizeof(c->user_smtpd), "nobody");
	snprintf(c->user_queue, sizeof(c->user_queue), "nobody");
	cr_assert_eq(master_users_lookup(c, &u, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "same"), "%s", err);
	conf_free(c);
	free(c);
}

Test(master_privsep, check_reports_what_the_user_cannot_use)
{
	char dir[] = "/tmp/test_master_privsep.XXXXXX", conf[256], err[512];
	struct master_user u;
	FILE *f;

	if (geteuid() != 0 || user_nobody(&u) < 0)
		cr_skip_test("needs root and user nobody");
	/* 0700: nobody cannot enter, but gets descriptors for what is
	 * inside; only the file's own permissions count. */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/mta.conf", dir);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fclose(f);
	chmod(conf, 0600);
	cr_assert_eq(master_privsep_check(&u, "/bin/sh", conf, dir, NULL, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, conf), "%s", err);
	chmod(conf, 0644);
	cr_assert_eq(master_privsep_check(&u, "/bin/sh", conf, dir, NULL, err,
	    sizeof(err)), 0, "%s", err);
	unlink(conf);
	rmdir(dir);
}

Test(master_privsep, remote_must_differ_from_the_queue_and_smtpd_users)
{
	static const char *const clash[] = { "user_queue", "user_smtpd",
		"user_local" };
	struct conf *c = xcalloc(1, sizeof(*c));
	struct master_users u;
	char err[512];
	size_t i;

	if (geteuid() != 0 || getpwnam("nobody") == NULL ||
	    getpwnam("mta-remote") == NULL)
		cr_skip_test("needs root and the daemon users");
	conf_defaults(c);
	cr_assert_eq(master_users_lookup(c, &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(u.on, 1);
	cr_assert_eq(u.remote.uid, getpwnam("mta-remote")->pw_uid);
	cr_assert_eq(u.local.uid, getpwnam("mta-local")->pw_uid);
	for (i = 0; i < ARRAY_LEN(clash); i++) {
		conf_defaults(c);
		snprintf(c->user_remote, sizeof(c->user_remote), "nobody");
		if (i == 0)
			snprintf(c->user_queue, sizeof(c->user_queue), "nobody");
		else if (i == 1)
			snprintf(c->user_smtpd, sizeof(c->user_smtpd), "nobody");
		else
			snprintf(c->user_local, sizeof(c->user_local), "nobody");
		cr_assert_eq(master_users_lookup(c, &u, err, sizeof(err)), -1,
		    "%s", clash[i]);
		cr_assert_not_null(strstr(err, "same"), "%s", err);
		cr_assert_not_null(strstr(err, "user_remote"), "%s", err);
		cr_assert_not_null(strstr(err, clash[i]), "%s", err);
		conf_free(c);
	}
	conf_defaults(c);
	snprintf(c->user_remote, sizeof(c->user_remote), "no-such-user-xyz");
	cr_assert_eq(master_users_lookup(c, &u, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "user_remote"), "%s", err);
	conf_free(c);
	free(c);
}

Test(master_privsep, check_probes_the_named_socket)
{
	char dir[] = "/tmp/test_master_privsep.XXXXXX", path[256], err[512];
	struct master_user u;
	int fd;

	if (geteuid() != 0 || user_nobody(&u) < 0)
		cr_skip_test("needs root and user nobody");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);	/* like state_dir */
	snprintf(path, sizeof(path), "%s/run", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/run/agent.sock", dir);
	fd = master_listen_unix(path, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(master_privsep_check(&u, "/bin/sh", "", dir, "agent.sock",
	    err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "run/agent.sock"), "%s", err);
	chmod(path, 0666);
	cr_assert_eq(master_privsep_check(&u, "/bin/sh", "", dir, "agent.sock",
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(master_privsep_check(&u, "/bin/sh", "", dir, "qmgr.sock",
	    err, sizeof(err)), -1, "a missing socket is reported");
	close(fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
}

Test(master_privsep, drop_keeps_exactly_the_auth_group)
{
	struct master_user u;
	gid_t auth = 54321;
	char err[256];
	int status;
	pid_t pid;

	if (geteuid() != 0 || user_nobody(&u) < 0)
		cr_skip_test("needs root and user nobody");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		gid_t g[4];

		if (master_privsep_drop_groups(&u, &auth, 1, err,
		    sizeof(err)) < 0)
			_exit(1);
		if (getgroups(4, g) != 1 || g[0] != auth)
			_exit(2);
		if (getuid() != u.uid || getgid() != u.gid || setgid(0) == 0)
			_exit(3);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d", WEXITSTATUS(status));
}

Test(master_privsep, only_the_users_file_readers_get_group_auth)
{
	cr_assert(master_kind_reads_users(MASTER_SMTPD));
	cr_assert(master_kind_reads_users(MASTER_LOCAL));
	cr_assert(master_kind_reads_users(MASTER_POP3D));
	cr_assert_not(master_kind_reads_users(MASTER_REMOTE));
	cr_assert_not(master_kind_reads_users(MASTER_QWRITER));
	cr_assert_not(master_kind_reads_users(MASTER_QMGR));
}

Test(master_privsep, missing_auth_group_says_how_to_create_it)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	struct master_users u;
	char err[512];

	if (geteuid() != 0)
		cr_skip_test("needs root");
	conf_defaults(c);
	if (getgrnam(c->group_auth) == NULL)
		cr_skip_test("group %s missing: run scripts/mkusers",
		    c->group_auth);
	snprintf(c->group_auth, sizeof(c->group_auth), "mta-no-such-group");
	cr_assert_eq(master_users_lookup(c, &u, err, sizeof(err)), -1);
	cr_assert(strstr(err, "group_auth = mta-no-such-group: no such group")
	    != NULL, "%s", err);
	cr_assert(strstr(err, "scripts/mkusers") != NULL, "%s", err);
	conf_free(c);
	free(c);
}
