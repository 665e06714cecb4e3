/* pop3d_mbox: the Maildir side of a POP3 session; see pop3d_mbox.h.
 * Runs on pop3d's helper threads (blocking directory and file I/O).  Names
 * that no Maildir writer produces ('.' first) are skipped; a file that
 * vanishes between readdir and use is skipped too. */
#include "pop3d/pop3d_mbox.h"
#include "lib/log.h"
#include "lib/maildir.h"
#include "lib/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define POP3D_MBOX_READ (64 * 1024)

void pop3d_mbox_init(struct pop3d_mbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->lock_fd = mb->cur_fd = -1;
}

void pop3d_mbox_uidl(const char *name, size_t len,
    char out[POP3D_UIDL_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	int ok = len >= 1 && len <= POP3D_UIDL_MAX;

	for (size_t k = 0; ok && k < len; k++)
		ok = (unsigned char)name[k] >= 0x21 &&
		    (unsigned char)name[k] <= 0x7e;
	if (ok) {
		memcpy(out, name, len);
		out[len] = '\0';
		return;
	}
	if (EVP_Digest(name, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		panic("SHA-256 failed");
	for (i = 0; i < mdlen && 2 * i + 1 < POP3D_UIDL_MAX; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * i] = '\0';
}

static uint64_t digits(const char **p)
{
	uint64_t v = 0;

	while (**p >= '0' && **p <= '9' && v < UINT64_MAX / 10 - 10)
		v = v * 10 + (uint64_t)(*(*p)++ - '0');
	return v;
}

void pop3d_mbox_time(const char *name, uint64_t *sec, uint64_t *usec)
{
	const char *p = name;

	*sec = digits(&p);
	*usec = 0;
	if (p[0] == '.' && p[1] == 'M') {
		p += 2;
		*usec = digits(&p);
	}
}

int pop3d_mbox_cmp(const void *a, const void *b)
{
	const struct pop3d_msg *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Move every message of new/ into cur/ with ":2," (the Maildir "seen by
 * a reader" step); a name already carrying ':' keeps it. */
static int move_new(int mfd, int cur_fd)
{
	char to[MAILDIR_NAME_MAX + 8];
	struct dirent *d;
	DIR *dir;
	int fd = openat(mfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		if (snprintf(to, sizeof(to), "%s%s", d->d_name,
		    strchr(d->d_name, ':') ? "" : ":2,") >= (int)sizeof(to))
			continue;
		if (renameat(fd, d->d_name, cur_fd, to) < 0 && errno != ENOENT)
			log_warn("rename new/%s: %s", d->d_name,
			    strerror(errno));
	}
	closedir(dir);
	return 0;
}

/* W= was absent: count the wire size from the file once. */
static int count_wire(int cur_fd, const char *name, uint64_t *wire)
{
	static __thread char chunk[POP3D_MBOX_READ];
	struct maildir_wire w;
	uint64_t n = 0;
	ssize_t r;
	int fd = openat(cur_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	maildir_wire_init(&w);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -errno;
		}
		n += maildir_wire_count(&w, chunk, (size_t)r);
	}
	close(fd);
	*wire = n + maildir_wire_end(&w);
	return 0;
}

/* One cur/ entry into the list (skipped when not a message). */
static void add_msg(struct pop3d_mbox *mb, size_t *cap, int cur_fd,
    const struct dirent *d)
{
	struct pop3d_msg *m;
	uint64_t size, wire;
	size_t ulen;
	struct stat st;

	if (maildir_name_parse(d->d_name, &size, &wire, &ulen) < 0 ||
	    mb->n >= POP3D_MBOX_MAX)
		return;
	if (d->d_type != DT_REG && (d->d_type != DT_UNKNOWN ||
	    fstatat(cur_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode)))
		return;
	if (wire == UINT64_MAX && count_wire(cur_fd, d->d_name, &wire) < 0)
		return;
	if (mb->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		mb->msg = xreallocarray(mb->msg, *cap, sizeof(*mb->msg));
	}
	m = &mb->msg[mb->n++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(d->d_name);
	m->wire = wire;
	pop3d_mbox_time(d->d_name, &m->sec, &m->usec);
	pop3d_mbox_uidl(d->d_name, ulen, m->uidl);
	mb->total += wire;
}

static int list_cur(struct pop3d_mbox *mb)
{
	struct dirent *d;
	size_t cap = 0;
	int fd = dup(mb->cur_fd);
	DIR *dir;

	if (fd < 0)
		return -errno;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			add_msg(mb, &cap, mb->cur_fd, d);
	closedir(dir);
	if (mb->n > 1)
		qsort(mb->msg, mb->n, sizeof(*mb->msg), pop3d_mbox_cmp);
	return 0;
}

int pop3d_mbox_open_path(struct pop3d_mbox *mb, const char *path)
{
	int mfd, rc;

	pop3d_mbox_init(mb);
	mfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return errno == ENOENT ? 0 : -errno;	/* no mail yet */
	mb->lock_fd = openat(mfd, POP3D_LOCK_FILE,
	    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (mb->lock_fd < 0 || flock(mb->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		goto fail;
	}
	mb->cur_fd = openat(mfd, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mb->cur_fd < 0 && errno == ENOENT && mkdirat(mfd, "cur", 0700) == 0)
		mb->cur_fd = openat(mfd, "cur", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	if (mb->cur_fd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = move_new(mfd, mb->cur_fd)) < 0 || (rc = list_cur(mb)) < 0)
		goto fail;
	close(mfd);
	return 0;
fail:
	close(mfd);
	pop3d_mbox_close(mb);
	return rc;
}

int pop3d_mbox_open(struct pop3d_mbox *mb, const char *mail_root,
    const char *address)
{
	char path[4096];
	int rc;

	pop3d_mbox_init(mb);
	if ((rc = maildir_path(mail_root, address, path, sizeof(path))) < 0)
		return rc;
	return pop3d_mbox_open_path(mb, path);
}

int pop3d_mbox_update(struct pop3d_mbox *mb)
{
	int removed = 0, rc = 0;

	for (size_t i = 0; i < mb->n; i++) {
		if (!mb->msg[i].deleted)
			continue;
		if (unlinkat(mb->cur_fd, mb->msg[i].name, 0) == 0 ||
		    errno == ENOENT)
			removed++;
		else if (rc == 0)
			rc = -errno;
	}
	if (removed > 0 && fsync(mb->cur_fd) < 0 && rc == 0)
		rc = -errno;
	return rc < 0 ? rc : removed;
}

void pop3d_mbox_close(struct pop3d_mbox *mb)
{
	for (size_t i = 0; i < mb->n; i++)
		free(mb->msg[i].name);
	free(mb->msg);
	if (mb->cur_fd >= 0)
		close(mb->cur_fd);
	if (mb->lock_fd >= 0)
		close(mb->lock_fd);	/* releases the flock */
	pop3d_mbox_init(mb);
}

int pop3d_mbox_open_msg(const struct pop3d_mbox *mb, size_t i)
{
	int fd;

	if (i >= mb->n || mb->cur_fd < 0)
		return -ENOENT;
	fd = openat(mb->cur_fd, mb->msg[i].name,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}
