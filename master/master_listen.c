/* master_listen: the listening sockets, all created by the master while it
 * is still root (ports below 1024) and handed to the daemons by fd.  TCP
 * listeners: SO_REUSEADDR, IPV6_V6ONLY, non-blocking, backlog 4096.  On a
 * reload an address that stays keeps its socket, so no connection is
 * refused while the workers are replaced. */
#include "master/master.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int master_listen_tcp(const struct conf_listen *l)
{
	int fd, on = 1, e;
	int family = l->addr.ss_family;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0 ||
	    listen(fd, MASTER_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

/* A daemon killed with -9 releases its sockets only when the kernel has
 * torn down its io_uring (asynchronously, after the process is gone), so
 * a restart right after a crash may briefly see EADDRINUSE: retry a
 * little before calling the address busy. */
static int master_listen_tcp_retry(const struct conf_listen *l)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int fd, i;

	for (i = 0; ; i++) {
		fd = master_listen_tcp(l);
		if (fd != -EADDRINUSE || i * 100 >= MASTER_BIND_RETRY_MS)
			return fd;
		nanosleep(&pause, NULL);
	}
}

static int master_listener_find(const struct master_listeners *l,
    const struct conf_listen *w)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (master_listen_same(&l->v[i].where, 1, w, 1))
			return l->v[i].fd;
	return -1;
}

int master_listeners_open(struct master_listeners *out,
    const struct conf_listen *want, size_t n,
    const struct master_listeners *reuse, char *err, size_t errlen)
{
	size_t i;
	int fd;

	out->n = 0;
	for (i = 0; i < n && i < CONF_LIST_MAX; i++) {
		fd = master_listener_find(reuse, &want[i]);
		if (fd < 0)
			fd = master_listen_tcp_retry(&want[i]);
		if (fd < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s",
			    want[i].text, strerror(-fd));
			master_listeners_close(out, reuse);
			return -1;
		}
		out->v[out->n].where = want[i];
		out->v[out->n].fd = fd;
		out->n++;
	}
	return 0;
}

void master_listeners_close(struct master_listeners *l,
    const struct master_listeners *keep)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (master_listener_find(keep, &l->v[i].where) != l->v[i].fd)
			close(l->v[i].fd);
	l->n = 0;
}

int master_listen_unix(const char *path, unsigned mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, MASTER_BACKLOG) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}
