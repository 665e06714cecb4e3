/* master_spawn: start one daemon.  Everything that allocates (argv, env,
 * MTA_FDS) is built before fork; the child only moves fds into place
 * (lib/fds.h: from 3 upward, everything else closed), resets signals,
 * drops privileges (master_privsep.c) and execs.  A child that cannot do
 * any of that exits 127 and the supervisor restarts it with backoff. */
#include "master/master.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int master_fds_env(const char *const *roles, size_t n, struct buf *out)
{
	size_t i;

	buf_reset(out);
	buf_puts(out, MTA_FDS_ENV "=");
	for (i = 0; i < n; i++) {
		if (roles[i][0] == '\0' || strpbrk(roles[i], ":,=") != NULL)
			return -EINVAL;
		buf_printf(out, "%s%s:%zu", i ? "," : "", roles[i],
		    MTA_FD_BASE + i);
	}
	buf_cstr(out);
	return 0;
}

int master_fds_layout(const int *src, size_t n)
{
	int tmp[MASTER_FDS_MAX];
	int above = MTA_FD_BASE + (int)n;
	size_t i;

	if (n > MASTER_FDS_MAX)
		return -EINVAL;
	/* First out of the way (a source may sit on another's target)... */
	for (i = 0; i < n; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, above);
		if (tmp[i] < 0)
			return -errno;
		if (tmp[i] >= above)
			above = tmp[i] + 1;
	}
	/* ...then into place; dup2 clears FD_CLOEXEC on the target. */
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], MTA_FD_BASE + (int)i) < 0)
			return -errno;
	if (close_range(MTA_FD_BASE + (unsigned)n, ~0U, 0) < 0) {
		int fd, max = (int)sysconf(_SC_OPEN_MAX);

		for (fd = MTA_FD_BASE + (int)n; fd < max; fd++)
			close(fd);
	}
	return 0;
}

static int master_env_skip(const char *e)
{
	return strncmp(e, MTA_FDS_ENV "=", sizeof(MTA_FDS_ENV)) == 0 ||
	    strncmp(e, "MTA_CONF=", 9) == 0;
}

/* Copy s (with its NUL) to p; returns the byte after it. */
static char *master_env_put(char *p, const char *s)
{
	size_t n = strlen(s) + 1;

	memcpy(p, s, n);
	return p + n;
}

char **master_env_build(char *const *env, const char *extra)
{
	size_t n = 0, bytes = 0, i, k = 0, ptrs;
	char **out, *p;

	for (i = 0; env != NULL && env[i] != NULL; i++) {
		if (master_env_skip(env[i]))
			continue;
		n++;
		bytes = size_add(bytes, strlen(env[i]) + 1);
	}
	if (extra != NULL)
		bytes = size_add(bytes, strlen(extra) + 1);
	if (__builtin_mul_overflow(n + 2, sizeof(char *), &ptrs))
		panic("environment too large");
	/* One block: the pointer array, then the strings. */
	out = xmalloc(size_add(ptrs, bytes));
	p = (char *)(out + n + 2);
	for (i = 0; env != NULL && env[i] != NULL; i++) {
		if (master_env_skip(env[i]))
			continue;
		out[k++] = p;
		p = master_env_put(p, env[i]);
	}
	if (extra != NULL) {
		out[k++] = p;
		master_env_put(p, extra);
	}
	out[k] = NULL;
	return out;
}

int master_exe_dir(char *out, size_t outlen)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	if (snprintf(out, outlen, "%s", dirname(exe)) >= (int)outlen)
		return -ENAMETOOLONG;
	return 0;
}

int master_find_program(const char *exe_dir, const char *name, char *out,
    size_t outlen)
{
	char path[4096];
	int n, i;

	for (i = 0; i < 2; i++) {
		/* Next to us (build/bin, or all in one dir), then installed. */
		if (i == 0)
			n = snprintf(path, sizeof(path), "%s/%s", exe_dir, name);
		else
			n = snprintf(path, sizeof(path), "%s/../libexec/mta/%s",
			    exe_dir, name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (access(path, X_OK) == 0)
			return master_abs_path(path, out, outlen);
	}
	return -ENOENT;
}

/* The child between fork and exec: never returns. */
static void master_spawn_child(const struct master_spawn *s, const int *fds,
    size_t nfds, char **argv, char **envp, pid_t parent)
    __attribute__((noreturn));
static void master_spawn_child(const struct master_spawn *s, const int *fds,
    size_t nfds, char **argv, char **envp, pid_t parent)
{
	sigset_t none;
	char err[256];
	int rc;

	int prog = -1;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Own process group: a terminal's ^C reaches only the master, which
	 * then stops the daemons in order. */
	setpgid(0, 0);
	umask(077);
	if ((rc = master_fds_layout(fds, nfds)) < 0) {
		log_warn("%s: cannot set up inherited fds: %s", argv[0],
		    strerror(-rc));
		_exit(127);
	}
	/* The program too is opened before the drop and run by descriptor. */
	if (s->user != NULL && (prog = open(s->path, O_PATH | O_CLOEXEC)) < 0) {
		log_warn("%s: %s", s->path, strerror(errno));
		_exit(127);
	}
	if (s->user != NULL && master_privsep_drop_groups(s->user, s->groups,
	    s->ngroups, err, sizeof(err)) < 0) {
		log_warn("%s: cannot drop privileges to %s: %s", argv[0],
		    s->user->name, err);
		_exit(127);
	}
	/* After the drop (a credential change clears it): die with us. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	/* Dropped or not (started by a plain user): no daemon regains
	 * privileges through exec. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("%s: no_new_privs: %s", argv[0], strerror(errno));
		_exit(127);
	}
	if (getppid() != parent)
		_exit(0);
	if (prog >= 0)
		execveat(prog, "", argv, envp, AT_EMPTY_PATH);
	else
		execve(s->path, argv, envp);
	log_warn("cannot execute %s: %s", s->path, strerror(errno));
	_exit(127);
}

/* With privilege separation, open (as root) what the daemon's user may be
 * unable to reach by path, and append it to its inherited fds: the state
 * directory, the config file (its path stays on the command line, for
 * ps and logs) and the kind's own file (qmgr: transport_file), which may
 * live where only root can read.  A missing own file is left to the daemon,
 * which reports it by path.  Returns the number of fds, or -errno. */
static int master_spawn_handover(const struct master_spawn *s, int *fds,
    const char **roles, int *opened)
{
	size_t n = s->nfds;

	if (n + 3 > MTA_FD_MAX)
		return -EMFILE;
	memcpy(fds, s->fds, n * sizeof(*fds));
	memcpy(roles, s->roles, n * sizeof(*roles));
	if (s->user == NULL)
		return (int)n;
	opened[0] = open(s->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (opened[0] < 0)
		return -errno;
	fds[n] = opened[0];
	roles[n++] = MTA_FD_ROLE_STATEDIR;
	if (s->conf_path[0] != '\0') {
		opened[1] = open(s->conf_path, O_RDONLY | O_CLOEXEC);
		if (opened[1] < 0)
			return -errno;
		fds[n] = opened[1];
		roles[n++] = MTA_FD_ROLE_CONF;
	}
	if (s->file_path != NULL && s->file_path[0] != '\0' &&
	    (opened[2] = open(s->file_path, O_RDONLY | O_CLOEXEC)) >= 0) {
		fds[n] = opened[2];
		roles[n++] = s->file_role;
	}
	return (int)n;
}

pid_t master_spawn(const struct master_spawn *s)
{
	struct buf fdsvar;
	const char *name = strrchr(s->path, '/');
	const char *roles[MTA_FD_MAX];
	char *argv[4] = { NULL };
	char **envp;
	pid_t parent = getpid(), pid = -1;
	int fds[MTA_FD_MAX], opened[3] = { -1, -1, -1 }, n, e;

	buf_init(&fdsvar, 0);
	n = master_spawn_handover(s, fds, roles, opened);
	if (n < 0 || master_fds_env(roles, (size_t)n, &fdsvar) < 0) {
		e = n < 0 ? -n : EINVAL;
		goto out;
	}
	envp = master_env_build(environ, fdsvar.data);
	argv[0] = (char *)(name != NULL ? name + 1 : s->path);
	if (s->conf_path[0] != '\0') {
		argv[1] = (char *)"-c";
		argv[2] = (char *)s->conf_path;
	}
	pid = fork();
	if (pid == 0)
		master_spawn_child(s, fds, (size_t)n, argv, envp, parent);
	e = errno;
	free(envp);
out:
	for (size_t i = 0; i < ARRAY_LEN(opened); i++)
		if (opened[i] >= 0)
			close(opened[i]);
	buf_free(&fdsvar);
	return pid < 0 ? -e : pid;
}
