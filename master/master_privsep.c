/* master_privsep: the daemons' unprivileged users and the one function
 * that drops to them.  The drop runs in the forked child before exec, in
 * one fixed order (groups, gid, uid, no_new_privs) and is verified after;
 * any failure kills the child rather than exec a daemon as root.
 * Started as a normal user there is nothing to drop (users.on = 0). */
#include "master/master.h"
#include "lib/fds.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int master_user_get(const char *name, const char *key,
    struct master_user *u, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL) {
		snprintf(err, errlen, "%s = %s: no such user; create the "
		    "daemon users with scripts/mkusers (or make install)",
		    key, name);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "%s = %s: uid or gid 0; the daemons "
		    "must run as unprivileged users", key, name);
		return -1;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/* group_auth's gid into u->auth: smtpd, mta-local and mta-pop3d read
 * users_file (root:group_auth 0640) through it. */
static int master_auth_group(const struct conf *c, struct master_users *u,
    char *err, size_t errlen)
{
	struct group *gr;

	errno = 0;
	if ((gr = getgrnam(c->group_auth)) == NULL) {
		snprintf(err, errlen, "group_auth = %s: no such group; create "
		    "it with scripts/mkusers (or make install)", c->group_auth);
		return -1;
	}
	if (gr->gr_gid == 0) {
		snprintf(err, errlen, "group_auth = %s: gid 0; it must be a "
		    "group of its own", c->group_auth);
		return -1;
	}
	u->auth = gr->gr_gid;
	return 0;
}

/* Why two daemons must not share a user: what the one could then do. */
static const char *master_users_why(size_t a, size_t b)
{
	if (a == 1 || b == 1)
		return "only the queue daemons may read and write the spool";
	return "a daemon could pass for the other at the queue manager's "
	    "sockets";
}

int master_users_lookup(const struct conf *c, struct master_users *u,
    char *err, size_t errlen)
{
	const struct {
		const char *key, *name;
		struct master_user *user;
	} v[] = {
		{ "user_smtpd", c->user_smtpd, &u->smtpd },
		{ "user_queue", c->user_queue, &u->queue },
		{ "user_remote", c->user_remote, &u->remote },
		{ "user_local", c->user_local, &u->local },
	};
	size_t i, j;

	memset(u, 0, sizeof(*u));
	if (geteuid() != 0)
		return 0;
	u->on = 1;
	for (i = 0; i < ARRAY_LEN(v); i++)
		if (master_user_get(v[i].name, v[i].key, v[i].user, err,
		    errlen) < 0)
			return -1;
	if (master_auth_group(c, u, err, errlen) < 0)
		return -1;
	for (i = 0; i < ARRAY_LEN(v); i++) {
		for (j = i + 1; j < ARRAY_LEN(v); j++) {
			if (v[i].user->uid != v[j].user->uid)
				continue;
			snprintf(err, errlen, "%s and %s are the same user "
			    "(%s): %s", v[i].key, v[j].key, v[i].user->name,
			    master_users_why(i, j));
			return -1;
		}
	}
	return 0;
}

#define PRIVSEP_FAIL(step) do { \
	snprintf(err, errlen, "%s: %s", step, strerror(errno)); \
	return -1; \
} while (0)

/* After the drop: every id is the target and root cannot come back. */
static int master_privsep_verify(const struct master_user *u,
    const gid_t *groups, size_t n, char *err, size_t errlen)
{
	gid_t rg, eg, sg, have[2];
	uid_t ru, eu, su;
	int got;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		PRIVSEP_FAIL("getresuid");
	if (ru != u->uid || eu != u->uid || su != u->uid ||
	    rg != u->gid || eg != u->gid || sg != u->gid) {
		snprintf(err, errlen, "ids not dropped to %s", u->name);
		return -1;
	}
	got = getgroups((int)ARRAY_LEN(have), have);
	if (got < 0 || (size_t)got != n ||
	    (n == 1 && have[0] != groups[0])) {
		snprintf(err, errlen, "supplementary groups remain");
		return -1;
	}
	if (setuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errlen, "root regained after the drop");
		return -1;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		snprintf(err, errlen, "no_new_privs not set");
		return -1;
	}
	return 0;
}

int master_privsep_drop(const struct master_user *u, char *err, size_t errlen)
{
	return master_privsep_drop_groups(u, NULL, 0, err, errlen);
}

int master_privsep_drop_groups(const struct master_user *u,
    const gid_t *groups, size_t n, char *err, size_t errlen)
{
	if (n > 1) {
		snprintf(err, errlen, "at most one supplementary group");
		return -1;
	}
	if (setgroups(n, n > 0 ? groups : NULL) < 0)
		PRIVSEP_FAIL("setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		PRIVSEP_FAIL("setresgid");
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		PRIVSEP_FAIL("setresuid");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		PRIVSEP_FAIL("prctl(PR_SET_NO_NEW_PRIVS)");
	return master_privsep_verify(u, groups, n, err, errlen);
}

/* Child side of master_privsep_check: what the daemon will need, reached
 * the way master_spawn hands it over (descriptors opened before the drop,
 * so the directories above them do not matter).  For the socket, write
 * access is what connect(2) checks. */
static int master_privsep_probe(const struct master_user *u, const char *prog,
    const char *conf_path, const char *state_dir, const char *sock,
    char *err, size_t errlen)
{
	char path[64], sockpath[128];
	int pfd, cfd = -1, sfd, fd;

	if ((pfd = open(prog, O_PATH | O_CLOEXEC)) < 0)
		PRIVSEP_FAIL(prog);
	if ((sfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		PRIVSEP_FAIL(state_dir);
	if (conf_path[0] != '\0' &&
	    (cfd = open(conf_path, O_RDONLY | O_CLOEXEC)) < 0)
		PRIVSEP_FAIL(conf_path);
	if (master_privsep_drop(u, err, errlen) < 0)
		return -1;
	if (faccessat(pfd, "", X_OK, AT_EMPTY_PATH) < 0)
		PRIVSEP_FAIL(prog);
	if (cfd >= 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", cfd);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			PRIVSEP_FAIL(conf_path);
		close(fd);
	}
	if (sock != NULL) {
		snprintf(sockpath, sizeof(sockpath), "run/%s", sock);
		if (faccessat(sfd, sockpath, W_OK, 0) < 0)
			PRIVSEP_FAIL(sockpath);
	}
	return 0;
}

int master_privsep_check(const struct master_user *u, const char *prog,
    const char *conf_path, const char *state_dir, const char *sock,
    char *err, size_t errlen)
{
	int pfd[2], status = -1;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		PRIVSEP_FAIL("pipe");
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		PRIVSEP_FAIL("fork");
	}
	if (pid == 0) {
		close(pfd[0]);
		if (master_privsep_probe(u, prog, conf_path, state_dir, sock,
		    err, errlen) == 0)
			_exit(0);
		(void)!write(pfd[1], err, strlen(err));
		_exit(1);
	}
	close(pfd[1]);
	n = read(pfd[0], err, errlen - 1);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n <= 0)
		snprintf(err, errlen, "check as %s failed", u->name);
	else
		err[n] = '\0';
	return -1;
}
