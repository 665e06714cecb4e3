/* master_statedir: create the state directory tree (DESIGN.md "Queue
 * layout", PREAMBLE conventions) with its owners and modes.  spool/ and
 * everything in it belong to the queue user, mode 0700, so smtpd can
 * neither read nor write the queue; mail/ (the Maildirs) belongs to the
 * local user (mta-local, mta-pop3d), mode 0700; run/ is the master's,
 * 0755, so anyone can reach run/qwriter.sock.  Idempotent; repairs modes
 * and owners. */
#include "master/master.h"
#include "lib/mem.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const master_spool_dirs[] = {
	"spool", "spool/journal", "spool/incoming", "spool/deferred",
	"spool/hold", "spool/corrupt", "spool/tmp",
};

/* The queue user of the current tree walk (nftw has no argument). */
static const struct master_user *master_chown_to;

static int master_chown_one(const char *path, const struct stat *st,
    int type, struct FTW *ftw)
{
	if (st->st_uid == master_chown_to->uid &&
	    st->st_gid == master_chown_to->gid)
		return 0;
	return lchown(path, master_chown_to->uid, master_chown_to->gid) < 0 ?
	    -1 : 0;
}

/* mkdir -p: create the missing components of path with mode. */
static int master_mkdir_p(char *path, unsigned mode)
{
	char *p;
	struct stat st;

	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = c;
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* One directory with its mode, owned by u (NULL: by us). */
static int master_dir(const char *path, unsigned mode,
    const struct master_user *u)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	if (lstat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (u != NULL) {
		if ((st.st_uid != u->uid || st.st_gid != u->gid) &&
		    chown(path, u->uid, u->gid) < 0)
			return -1;
	} else if (st.st_uid != geteuid()) {
		/* Ours: root takes it back, a normal user cannot. */
		if (geteuid() != 0) {
			errno = EPERM;
			return -1;
		}
		if (chown(path, 0, 0) < 0)
			return -1;
	}
	if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		return -1;
	return 0;
}

static void master_dir_err(const char *path, char *err, size_t errlen)
{
	if (errno == EPERM && geteuid() != 0)
		snprintf(err, errlen, "%s: owned by another user (was the "
		    "master started as root with this state_dir?)", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
}

/* dirs[0..n) (dirs[0] the top) mode 0700, owned by owner (NULL: us):
 * spool/ for the queue user, mail/ for the local user. */
static int master_statedir_owned(const char *state_dir,
    const char *const *dirs, size_t n, const struct master_user *owner,
    char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	size_t i;
	int walk;

	/* Walking a big tree is slow: only when its top changes hands. */
	if (master_path(path, sizeof(path), state_dir, dirs[0]) < 0)
		goto fail;
	walk = owner != NULL && lstat(path, &st) == 0 &&
	    (st.st_uid != owner->uid || st.st_gid != owner->gid);
	for (i = 0; i < n; i++) {
		if (master_path(path, sizeof(path), state_dir, dirs[i]) < 0 ||
		    master_dir(path, 0700, owner) < 0)
			goto fail;
	}
	if (!walk)
		return 0;
	/* Files left by an earlier run as another user: hand them over. */
	master_chown_to = owner;
	if (master_path(path, sizeof(path), state_dir, dirs[0]) < 0 ||
	    nftw(path, master_chown_one, 16, FTW_PHYS) != 0)
		goto fail;
	return 0;
fail:
	master_dir_err(path, err, errlen);
	return -1;
}

int master_statedir_setup(const char *state_dir,
    const struct master_user *queue, const struct master_user *local,
    char *err, size_t errlen)
{
	static const char *const plain[] = { "run", "log" };
	static const unsigned plain_mode[] = { 0755, 0750 };
	static const char *const mail[] = { "mail" };
	char path[4096];
	size_t i;

	if (snprintf(path, sizeof(path), "%s", state_dir) >= (int)sizeof(path) ||
	    master_mkdir_p(path, 0755) < 0) {
		snprintf(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < ARRAY_LEN(plain); i++) {
		if (master_path(path, sizeof(path), state_dir, plain[i]) < 0 ||
		    master_dir(path, plain_mode[i], NULL) < 0) {
			master_dir_err(path, err, errlen);
			return -1;
		}
	}
	if (master_statedir_owned(state_dir, mail, ARRAY_LEN(mail), local, err,
	    errlen) < 0)
		return -1;
	return master_statedir_owned(state_dir, master_spool_dirs,
	    ARRAY_LEN(master_spool_dirs), queue, err, errlen);
}
