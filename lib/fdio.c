/* fdio: whole-buffer blocking I/O; see fdio.h.  read_all grows the
 * buffer a chunk at a time but never past its limit: at the limit one more
 * byte is asked for, to tell "exactly full" from "too large". */
#include "lib/fdio.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#define FDIO_CHUNK 65536

/* The loop of both writers: how (write or send) is the only difference. */
static int fdio_out_all(int fd, const char *p, size_t n, int use_send)
{
	while (n > 0) {
		ssize_t w = use_send ? send(fd, p, n, MSG_NOSIGNAL) :
		    write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fdio_write_all(int fd, const void *p, size_t n)
{
	return fdio_out_all(fd, p, n, 0);
}

int fdio_send_all(int fd, const void *p, size_t n)
{
	return fdio_out_all(fd, p, n, 1);
}

int fdio_read_all(int fd, struct buf *b)
{
	for (;;) {
		size_t room = FDIO_CHUNK;
		char probe;
		ssize_t r;

		if (b->limit != 0 && b->limit - b->len < room)
			room = b->limit - b->len;
		if (room > 0 && buf_reserve(b, room) < 0)
			return -EFBIG;
		if (room > 0)
			r = read(fd, b->data + b->len, b->cap - b->len - 1);
		else
			r = read(fd, &probe, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		if (room == 0)
			return -EFBIG;
		b->len += (size_t)r;
	}
}
