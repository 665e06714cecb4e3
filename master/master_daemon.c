/* master_daemon: detach mta-master from the terminal without losing its
 * errors.  The parent waits on a pipe until the daemon says it is up
 * (pid file locked, listeners bound), so `mtactl start` and init scripts
 * see a bind failure as a non-zero exit with the message on their stderr;
 * only then does the daemon move stdout/stderr to log/mta.log, start the
 * daemons, and release the parent. */
#include "master/master.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int master_ready_fd = -1;

void master_daemon_start(void)
{
	int pfd[2], status;
	char c;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		fatal("pipe");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &c, 1) == 1)
			_exit(0);
		/* The daemon died before it was up; its error is on stderr. */
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				_exit(1);
		_exit(WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status)
		    : 1);
	}
	close(pfd[0]);
	master_ready_fd = pfd[1];
	if (setsid() < 0)
		fatal("setsid");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0)
		fatal("/dev/null");
	if (null != STDIN_FILENO)
		close(null);
}

int master_daemon_log(const char *log_path)
{
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);

	if (fd < 0)
		return -errno;
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

void master_daemon_release(void)
{
	if (master_ready_fd >= 0) {
		(void)!write(master_ready_fd, "1", 1);
		close(master_ready_fd);
		master_ready_fd = -1;
	}
}
