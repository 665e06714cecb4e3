/* Unit tests for master_spawn: MTA_FDS building (and its round trip
 * through lib/fds.c), the child environment, the fd layout from 3 upward
 * with everything else closed, program lookup, and a real spawn. */
#include <criterion/criterion.h>

#include "master/master.h"
#include "lib/fds.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

Test(master_spawn, fds_env_names_each_fd_from_3)
{
	static const char *const roles[] = { "smtp", "smtp", "qwriter" };
	struct buf b;
	int got[8];

	buf_init(&b, 0);
	cr_assert_eq(master_fds_env(roles, 3, &b), 0);
	cr_assert_str_eq(buf_cstr(&b), "MTA_FDS=smtp:3,smtp:4,qwriter:5");
	/* What the daemon reads back with lib/fds.c. */
	cr_assert_eq(setenv(MTA_FDS_ENV, b.data + sizeof(MTA_FDS_ENV), 1), 0);
	cr_assert_eq(fds_get(MTA_FD_ROLE_SMTP, got, 8), 2);
	cr_assert_eq(got[0], 3);
	cr_assert_eq(got[1], 4);
	cr_assert_eq(fds_get(MTA_FD_ROLE_QWRITER, got, 8), 1);
	cr_assert_eq(got[0], 5);
	buf_free(&b);
}

Test(master_spawn, fds_env_empty_and_bad_roles)
{
	static const char *const bad[] = { "sm:tp" };
	static const char *const empty[] = { "" };
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(master_fds_env(NULL, 0, &b), 0);
	cr_assert_str_eq(buf_cstr(&b), "MTA_FDS=");
	cr_assert_eq(master_fds_env(bad, 1, &b), -EINVAL);
	cr_assert_eq(master_fds_env(empty, 1, &b), -EINVAL);
	buf_free(&b);
}

Test(master_spawn, env_drops_mta_fds_and_mta_conf)
{
	char *env[] = { "PATH=/bin", "MTA_FDS=smtp:9", "MTA_CONF=/etc/x",
		"MTA_CONFIG_NOT_OURS=1", "MTA_DEBUG=1", NULL };
	char **out = master_env_build(env, "MTA_FDS=smtp:3");

	cr_assert_str_eq(out[0], "PATH=/bin");
	cr_assert_str_eq(out[1], "MTA_CONFIG_NOT_OURS=1");
	cr_assert_str_eq(out[2], "MTA_DEBUG=1");
	cr_assert_str_eq(out[3], "MTA_FDS=smtp:3");
	cr_assert_null(out[4]);
	free(out);
	out = master_env_build(NULL, NULL);
	cr_assert_null(out[0]);
	free(out);
}

/* A distinct inode per fd, to tell them apart after the shuffle. */
static int memfd_at(int want)
{
	int fd = memfd_create("t", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	if (fd != want) {
		cr_assert_eq(dup3(fd, want, O_CLOEXEC), want);
		close(fd);
	}
	return want;
}

static ino_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* Child: sources sit on each other's targets (3 <-> 4, 5 -> 3...). */
static int layout_child(void)
{
	int src[3], extra;
	ino_t want[3];
	int i;

	src[0] = memfd_at(4);
	src[1] = memfd_at(30);
	src[2] = memfd_at(3);
	extra = memfd_at(20);		/* not passed: must be closed */
	for (i = 0; i < 3; i++)
		want[i] = ino_of(src[i]);
	if (master_fds_layout(src, 3) < 0)
		return 10;
	for (i = 0; i < 3; i++) {
		if (ino_of(3 + i) != want[i])
			return 20 + i;
		if (fcntl(3 + i, F_GETFD) & FD_CLOEXEC)
			return 30 + i;
	}
	if (fcntl(extra, F_GETFD) != -1 || fcntl(30, F_GETFD) != -1 ||
	    fcntl(6, F_GETFD) != -1)
		return 40;
	return 0;
}

Test(master_spawn, layout_moves_fds_into_place_and_closes_the_rest)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(layout_child());
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "layout check %d failed",
	    WEXITSTATUS(status));
}

static void write_file(const char *path, const char *text, int mode)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, (mode_t)mode), 0);
}

Test(master_spawn, find_program_next_to_us_then_libexec)
{
	char dir[] = "/tmp/test_master_find.XXXXXX", p[512], out[4096];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/sbin", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/libexec", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/libexec/mta", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sbin", dir);
	cr_assert_eq(master_find_program(p, "mta-smtpd", out, sizeof(out)),
	    -ENOENT);
	snprintf(p, sizeof(p), "%s/libexec/mta/mta-smtpd", dir);
	write_file(p, "#!/bin/sh\n", 0755);
	snprintf(p, sizeof(p), "%s/sbin", dir);
	cr_assert_eq(master_find_program(p, "mta-smtpd", out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/libexec/mta/mta-smtpd", dir);
	cr_assert_str_eq(out, p, "installed layout, .. folded");
	snprintf(p, sizeof(p), "%s/sbin/mta-smtpd", dir);
	write_file(p, "#!/bin/sh\n", 0755);
	snprintf(p, sizeof(p), "%s/sbin", dir);
	cr_assert_eq(master_find_program(p, "mta-smtpd", out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/sbin/mta-smtpd", dir);
	cr_assert_str_eq(out, p, "next to the master wins");
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
}

static const char probe[] =
	"#!/bin/sh\n"
	"{ echo \"$1 $2\"; echo \"$MTA_FDS\"; echo \"${MTA_CONF-unset}\";\n"
	"  for fd in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$fd ] && echo $fd; done\n"
	"} > \"$PROBE_OUT\"\n"
	"exit 0\n";

Test(master_spawn, spawn_passes_conf_fds_and_clean_env)
{
	char dir[] = "/tmp/test_master_spawn.XXXXXX", prog[256], out[256];
	char text[512];
	static const char *const roles[] = { MTA_FD_ROLE_QWRITER };
	struct master_spawn s = { .conf_path = "/etc/mta/mta.conf",
		.roles = roles, .nfds = 1 };
	int fd = memfd_at(17), status;
	FILE *f;
	size_t n;
	pid_t pid;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/mta-probe", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	write_file(prog, probe, 0755);
	setenv("PROBE_OUT", out, 1);
	setenv("MTA_CONF", "/somewhere/else", 1);
	s.path = prog;
	s.fds = &fd;
	pid = master_spawn(&s);
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f = fopen(out, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	cr_assert_str_eq(text, "-c /etc/mta/mta.conf\n"
	    "qwriter:3\nunset\n3\n");
	unlink(out);
	unlink(prog);
	rmdir(dir);
}
