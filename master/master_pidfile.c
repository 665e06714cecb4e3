/* master_pidfile: run/master.pid, held with flock(2) for the master's whole
 * life.  The lock, not the number in the file, says whether a master runs
 * (a stale file after kill -9 is simply unlocked), so mtactl asks the lock
 * first and only then trusts the pid.  The file is 0644 so that mtactl
 * status works for any user. */
#include "master/master.h"
#include "lib/fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static pid_t master_pidfile_read_fd(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	long v;
	char *end;

	if (n <= 0)
		return 0;
	text[n] = '\0';
	v = strtol(text, &end, 10);
	if (end == text || v <= 0 || v > 0x7fffffffL)
		return 0;
	return (pid_t)v;
}

int master_pidfile_write(int fd, pid_t pid)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)pid);

	if (ftruncate(fd, 0) < 0)
		return -errno;
	if (pwrite(fd, text, (size_t)n, 0) != n)
		return -EIO;
	return 0;
}

/* Open and lock; a file unlinked by a master exiting between our open
 * and our lock is retried, so two masters never hold two inodes. */
int master_pidfile_lock(const char *state_dir, pid_t *other)
{
	char path[4096];
	struct stat a, b;
	int fd, tries;

	*other = 0;
	if (snprintf(path, sizeof(path), "%s/run/%s", state_dir,
	    MTA_MASTER_PID) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (tries = 0; tries < 5; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			*other = master_pidfile_read_fd(fd);
			close(fd);
			return e == EWOULDBLOCK ? -EEXIST : -e;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			int rc = master_pidfile_write(fd, getpid());

			if (rc < 0) {
				close(fd);
				return rc;
			}
			return fd;
		}
		close(fd);
	}
	return -EAGAIN;
}

pid_t master_pidfile_running(const char *state_dir)
{
	char path[4096];
	pid_t pid;
	int fd;

	if (snprintf(path, sizeof(path), "%s/run/%s", state_dir,
	    MTA_MASTER_PID) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);		/* nobody holds it: stale */
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		int e = errno;

		close(fd);
		return -e;
	}
	pid = master_pidfile_read_fd(fd);
	close(fd);
	/* Locked but not yet written: the master is starting. */
	return pid > 0 ? pid : -EAGAIN;
}

void master_pidfile_remove(const char *state_dir, int fd)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/run/%s", state_dir,
	    MTA_MASTER_PID) < (int)sizeof(path))
		unlink(path);
	close(fd);
}
