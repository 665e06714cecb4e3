/* Unit tests for master_statedir: the state directory tree, its modes,
 * idempotence, and (as root) the spool handed to the queue user. */
#include <criterion/criterion.h>

#include "master/master.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_master_statedir.XXXXXX";
static char state[256];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/a/b/state", dir);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", dir);
}

static void assert_dir(const char *sub, unsigned mode, uid_t uid)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", state, sub);
	cr_assert_eq(lstat(path, &st), 0, "%s missing", path);
	cr_assert(S_ISDIR(st.st_mode), "%s not a directory", path);
	cr_assert_eq(st.st_mode & 07777, mode, "%s mode %o, want %o", path,
	    st.st_mode & 07777, mode);
	cr_assert_eq(st.st_uid, uid, "%s owner %u, want %u", path,
	    (unsigned)st.st_uid, (unsigned)uid);
}

static void assert_tree(uid_t spool_owner)
{
	static const char *const spool[] = { "spool", "spool/journal",
		"spool/incoming", "spool/deferred", "spool/hold",
		"spool/corrupt", "spool/tmp" };
	size_t i;

	assert_dir("run", 0755, geteuid());
	assert_dir("mail", 0700, geteuid());
	assert_dir("log", 0750, geteuid());
	for (i = 0; i < sizeof(spool) / sizeof(spool[0]); i++)
		assert_dir(spool[i], 0700, spool_owner);
}

TestSuite(master_statedir, .init = setup, .fini = teardown);

Test(master_statedir, creates_the_tree_with_parents)
{
	char err[512];

	umask(077);		/* modes must not depend on it */
	cr_assert_eq(master_statedir_setup(state, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	assert_tree(geteuid());
}

Test(master_statedir, is_idempotent_and_repairs_modes)
{
	char err[512], path[512];

	cr_assert_eq(master_statedir_setup(state, NULL, NULL, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/spool/incoming", state);
	chmod(path, 0777);
	snprintf(path, sizeof(path), "%s/run", state);
	chmod(path, 0700);
	cr_assert_eq(master_statedir_setup(state, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	assert_tree(geteuid());
}

Test(master_statedir, a_file_in_the_way_is_an_error_naming_it)
{
	char err[512], path[512];
	FILE *f;

	cr_assert_eq(master_statedir_setup(state, NULL, NULL, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/spool/hold", state);
	cr_assert_eq(rmdir(path), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(master_statedir_setup(state, NULL, NULL, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "spool/hold"), "%s", err);
}

Test(master_statedir, root_gives_the_spool_to_the_queue_user)
{
	struct master_user q = { .name = "nobody" };
	struct passwd *pw = getpwnam("nobody");
	char err[512], path[512];
	struct stat st;
	FILE *f;

	if (geteuid() != 0 || pw == NULL)
		cr_skip_test("needs root and user nobody");
	q.uid = pw->pw_uid;
	q.gid = pw->pw_gid;
	/* A queue file left by an earlier run as root. */
	cr_assert_eq(master_statedir_setup(state, NULL, NULL, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/spool/incoming/AB", state);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/spool/incoming/AB/0123456789ABCDEF",
	    state);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(master_statedir_setup(state, &q, NULL, err, sizeof(err)), 0,
	    "%s", err);
	assert_tree(q.uid);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, q.uid, "queue file handed over");
}
