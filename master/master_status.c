/* master_status: run/status, the master's table of daemons for mtactl.
 * One line per daemon, "name pid state" ("-" for no pid), e.g.
 * "mta-smtpd 4242 running".  Rewritten atomically (tmp + rename) whenever
 * a child starts, dies or is told to stop, so a reader never sees half. */
#include "master/master.h"
#include "lib/fdio.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

const char *master_state_name(enum master_state s)
{
	switch (s) {
	case MASTER_RUNNING:
		return "running";
	case MASTER_RESTARTING:
		return "restarting";
	case MASTER_STOPPING:
		return "stopping";
	}
	return "unknown";
}

void master_status_format(const struct master_status_line *v, size_t n,
    struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].pid > 0)
			buf_printf(out, "%s %ld %s\n", v[i].name, (long)v[i].pid,
			    master_state_name(v[i].state));
		else
			buf_printf(out, "%s - %s\n", v[i].name,
			    master_state_name(v[i].state));
	}
}

int master_status_write(const char *state_dir,
    const struct master_status_line *v, size_t n)
{
	char path[4096], tmp[4096];
	struct buf b;
	int fd, rc = 0;

	if (snprintf(path, sizeof(path), "%s/run/%s", state_dir,
	    MASTER_STATUS_FILE) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	buf_init(&b, 0);
	master_status_format(v, n, &b);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0) {
		rc = -errno;
	} else {
		/* fchmod: the umask must not hide the table from mtactl. */
		if ((rc = fdio_write_all(fd, b.data, b.len)) == 0 &&
		    fchmod(fd, 0644) < 0)
			rc = -errno;
		close(fd);
		if (rc == 0 && rename(tmp, path) < 0)
			rc = -errno;
		if (rc < 0)
			unlink(tmp);
	}
	buf_free(&b);
	return rc;
}

void master_status_remove(const char *state_dir)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/run/%s", state_dir,
	    MASTER_STATUS_FILE) < (int)sizeof(path))
		unlink(path);
}
