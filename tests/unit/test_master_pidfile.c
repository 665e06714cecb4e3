/* Unit tests for master_pidfile: one master per state_dir, decided by the
 * lock (a stale file from a killed master reads as "not running"). */
#include <criterion/criterion.h>

#include "master/master.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/test_master_pidfile.XXXXXX";

static void setup(void)
{
	char run[256];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(run, sizeof(run), "%s/run", dir);
	cr_assert_eq(mkdir(run, 0755), 0);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", dir);
}

TestSuite(master_pidfile, .init = setup, .fini = teardown);

Test(master_pidfile, nothing_running_without_a_file)
{
	cr_assert_eq(master_pidfile_running(dir), 0);
}

Test(master_pidfile, lock_writes_pid_and_excludes_a_second_master)
{
	pid_t other = -1;
	int fd = master_pidfile_lock(dir, &other);

	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(master_pidfile_running(dir), getpid());
	cr_assert_eq(master_pidfile_lock(dir, &other), -EEXIST);
	cr_assert_eq(other, getpid(), "the refusal names the running pid");
	master_pidfile_remove(dir, fd);
	cr_assert_eq(master_pidfile_running(dir), 0);
}

Test(master_pidfile, stale_file_of_a_dead_master_is_not_running)
{
	char path[256];
	pid_t other, pid;
	int status, fd;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(master_pidfile_lock(dir, &other) >= 0 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(WEXITSTATUS(status), 0);
	snprintf(path, sizeof(path), "%s/run/master.pid", dir);
	cr_assert_eq(access(path, F_OK), 0, "the file is left behind");
	cr_assert_eq(master_pidfile_running(dir), 0);
	fd = master_pidfile_lock(dir, &other);
	cr_assert_geq(fd, 0, "a new master takes over the stale file");
	master_pidfile_remove(dir, fd);
}

Test(master_pidfile, rewrite_after_fork)
{
	pid_t other;
	int fd = master_pidfile_lock(dir, &other);

	cr_assert_geq(fd, 0);
	cr_assert_eq(master_pidfile_write(fd, 424242), 0);
	cr_assert_eq(master_pidfile_running(dir), 424242);
	master_pidfile_remove(dir, fd);
}
