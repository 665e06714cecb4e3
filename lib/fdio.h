/* fdio: blocking whole-buffer I/O on a descriptor, for the places that may
 * block (tools, start-up, recovery, the sendmail client): write or send
 * all of a buffer, read a file to its end.  EINTR is retried; the result
 * is 0 or -errno like the rest of lib.  Nothing here runs on a ring. */
#ifndef LIB_FDIO_H
#define LIB_FDIO_H
#include <stddef.h>

#include "lib/buf.h"

/* write(2) all n bytes of p; 0 or -errno. */
int fdio_write_all(int fd, const void *p, size_t n);
/* send(2) all n bytes of p with MSG_NOSIGNAL (-EPIPE, not SIGPIPE). */
int fdio_send_all(int fd, const void *p, size_t n);
/* Append everything up to EOF to b; -EFBIG if it passes b's limit. */
int fdio_read_all(int fd, struct buf *b);
#endif
