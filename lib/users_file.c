/* users_file: the one writer of users_file (mtactl user).  Under an
 * exclusive flock on the file's directory (so two mtactl runs cannot lose
 * each other's change) it parses the current file with the readers' parser
 * (a file they would refuse is not edited), splices one line in or out,
 * keeping every other line and comment as it was, and replaces the file
 * atomically: temp file beside it, fsync, rename, directory fsync. */
#include "lib/users.h"
#include "lib/users_int.h"
#include "lib/buf.h"
#include "lib/fdio.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct users_edit {
	const char *path;
	char dir[4096];
	const char *base;
	int dfd;
	struct stat old;	/* the current file (st_nlink 0: none) */
	char *err;
	size_t errlen;
};

static int users_edit_fail(struct users_edit *e, int rc, const char *what)
{
	snprintf(e->err, e->errlen, "%s: %s: %s", e->path, what,
	    strerror(-rc));
	return rc;
}

/* Split path into its directory (opened and locked) and base name. */
static int users_edit_open(struct users_edit *e)
{
	const char *slash = strrchr(e->path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(e->dir, sizeof(e->dir), ".");
		e->base = e->path;
	} else {
		n = slash == e->path ? 1 : (size_t)(slash - e->path);
		if (n >= sizeof(e->dir))
			return users_edit_fail(e, -ENAMETOOLONG, "directory");
		memcpy(e->dir, e->path, n);
		e->dir[n] = '\0';
		e->base = slash + 1;
	}
	if (e->base[0] == '\0' || strlen(e->base) > 200)
		return users_edit_fail(e, -EINVAL, "file name");
	e->dfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dfd < 0)
		return users_edit_fail(e, -errno, e->dir);
	while (flock(e->dfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return users_edit_fail(e, -errno, "lock");
	return 0;
}

/* The new text into out: orig (what cur was parsed from) with addr's line
 * added, replaced or removed.  0, -EEXIST or -ENOENT. */
static int users_edit_text(struct users_edit *e, const struct buf *orig,
    const struct users *cur, enum users_op op, const char *addr,
    const char *hash, struct buf *out)
{
	long i = users_find(cur, addr);
	size_t cut = orig->len, cut_len = 0;
	int rc = 0;

	if (op == USERS_ADD && i >= 0)
		return -EEXIST;
	if (op != USERS_ADD && i < 0)
		return -ENOENT;
	if (op == USERS_ADD && cur->n >= USERS_MAX)
		return users_edit_fail(e, -EFBIG, "too many accounts");
	if (i >= 0) {
		cut = cur->v[i].line_off;
		cut_len = cur->v[i].line_len;
	}
	buf_init(out, (size_t)USERS_FILE_MAX);
	if (cut > 0)
		rc = buf_append(out, orig->data, cut);
	if (rc == 0 && out->len > 0 && out->data[out->len - 1] != '\n')
		rc = buf_append(out, "\n", 1);
	if (rc == 0 && op != USERS_DEL)
		rc = buf_printf(out, "%s:%s\n", addr, hash);
	if (rc == 0 && cut + cut_len < orig->len)
		rc = buf_append(out, orig->data + cut + cut_len,
		    orig->len - cut - cut_len);
	if (rc < 0)
		return users_edit_fail(e, -EFBIG, "file would be too large");
	return 0;
}

/* The current file into orig and its parse into *cur (a missing file is
 * empty); a file the readers would refuse is not edited. */
static int users_edit_read(struct users_edit *e, struct buf *orig,
    struct users **cur)
{
	int rc;

	rc = users_read_at(e->dfd, e->base, e->path, orig, &e->old, e->err,
	    e->errlen);
	if (rc == -ENOENT) {
		memset(&e->old, 0, sizeof(e->old));
		rc = 0;
	}
	if (rc == 0)
		rc = users_parse(cur, e->path, orig->data ? orig->data : "",
		    orig->len, e->err, e->errlen);
	return rc;
}

static int users_edit_write(struct users_edit *e, const struct buf *b,
    long gid)
{
	char tmp[256];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp.%ld", e->base, (long)getpid());
	unlinkat(e->dfd, tmp, 0);	/* a crashed run's (we hold the lock) */
	fd = openat(e->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (fd < 0)
		return users_edit_fail(e, -errno, "temporary file");
	if (fchmod(fd, 0640) < 0)
		rc = users_edit_fail(e, -errno, "chmod");
	else if (geteuid() == 0 && gid >= 0 && fchown(fd, 0, (gid_t)gid) < 0)
		rc = users_edit_fail(e, -errno, "chown");
	else if (geteuid() != 0 && e->old.st_nlink != 0)
		(void)!fchown(fd, (uid_t)-1, e->old.st_gid);	/* if we may */
	if (rc == 0 && (rc = fdio_write_all(fd, b->data, b->len)) < 0)
		rc = users_edit_fail(e, rc, "write");
	if (rc == 0 && fsync(fd) < 0)
		rc = users_edit_fail(e, -errno, "fsync");
	if (close(fd) < 0 && rc == 0)
		rc = users_edit_fail(e, -errno, "close");
	if (rc == 0 && renameat(e->dfd, tmp, e->dfd, e->base) < 0)
		rc = users_edit_fail(e, -errno, "rename");
	if (rc < 0) {
		unlinkat(e->dfd, tmp, 0);
		return rc;
	}
	if (fsync(e->dfd) < 0)
		return users_edit_fail(e, -errno, "fsync of the directory");
	return 0;
}

int users_file_update(const char *path, enum users_op op,
    const char *address, const char *hash, long gid, char *err,
    size_t errlen)
{
	struct users_edit e = { .path = path, .dfd = -1, .err = err,
	    .errlen = errlen };
	char addr[USERS_ADDRESS_MAX + 1];
	struct users *cur = NULL;
	struct buf orig, out;
	int rc;

	buf_init(&orig, 0);
	buf_init(&out, 0);
	if (users_address_norm(address, strlen(address), addr,
	    sizeof(addr)) < 0) {
		snprintf(err, errlen, "invalid address");
		return -EINVAL;
	}
	if ((op == USERS_DEL) != (hash == NULL) || (hash != NULL &&
	    !users_hash_ok(hash, strlen(hash)))) {
		snprintf(err, errlen, "invalid hash");
		return -EINVAL;
	}
	if ((rc = users_edit_open(&e)) == 0 &&
	    (rc = users_edit_read(&e, &orig, &cur)) == 0 &&
	    (rc = users_edit_text(&e, &orig, cur, op, addr, hash, &out)) == 0)
		rc = users_edit_write(&e, &out, gid);
	if (rc == -EEXIST)
		snprintf(err, errlen, "%s: %s already exists", path, addr);
	else if (rc == -ENOENT && cur != NULL)
		snprintf(err, errlen, "%s: no such user: %s", path, addr);
	users_free(cur);
	buf_free(&orig);
	buf_free(&out);
	if (e.dfd >= 0)
		close(e.dfd);	/* and the lock with it */
	return rc;
}
