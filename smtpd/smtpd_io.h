/* smtpd_io: the one I/O layer of an SMTP connection on the ring.  Input:
 * a multishot recv into the process's provided-buffer ring; each buffer is
 * handed up (and given back) at once, so an idle connection holds none.
 * Output: writes are queued and leave in one send per connection per loop
 * turn (flushed from before_sleep).  A layer hook sits between the wire
 * and the session so that STARTTLS can slide TLS in without the state
 * machine noticing.  The owner is told when every op has finished and
 * only then may it free the connection. */
#ifndef SMTPD_IO_H
#define SMTPD_IO_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "smtpd/smtpd.h"

#define SMTPD_IO_PAUSE_PROTO 0x1	/* the session asked */
#define SMTPD_IO_PAUSE_OUTPUT 0x2	/* the client does not read */
#define SMTPD_IO_CLOSE_GRACE_MS 10000	/* to flush the last replies */

struct smtpd_io;

/* What the owner hears.  input: plaintext bytes; eof: the peer closed
 * its side (err 0: replies can still be sent) or the connection failed
 * (err < 0); done: all ops finished, fd closed (free now). */
struct smtpd_io_cb {
	void (*input)(struct smtpd_io *io, const char *p, size_t n);
	void (*eof)(struct smtpd_io *io, int err);
	void (*done)(struct smtpd_io *io);
};

/* A transformation between the wire and the session (TLS, later).  NULL
 * in struct smtpd_io means plaintext. */
struct smtpd_io_layer {
	/* Wire bytes in; plaintext goes to io->cb->input.  0 or -errno. */
	int (*decode)(struct smtpd_io *io, const char *p, size_t n);
	/* Plaintext out; wire bytes appended to wire.  0 or -errno. */
	int (*encode)(struct smtpd_io *io, const char *p, size_t n,
	    struct buf *wire);
};

/* Per process: the ring, the buffer ring and the connections to flush. */
struct smtpd_iosys {
	struct ev_loop *loop;
	struct ev_bufring *br;
	struct smtpd_io *dirty;
};

struct smtpd_io {
	struct smtpd_iosys *sys;
	const struct smtpd_io_cb *cb;
	const struct smtpd_io_layer *layer;
	void *layer_state;
	int fd;
	struct ev_op recv_op, send_op;
	struct buf out;		/* queued wire bytes */
	struct buf wire;	/* the bytes of the send in flight */
	size_t wire_off;
	struct buf hold;	/* input received while the client does not
				 * read our replies: delivered as they drain */
	unsigned pause;		/* SMTPD_IO_PAUSE_* bits */
	unsigned recv_armed : 1, recv_cancel : 1, send_busy : 1, closing : 1,
	    shut : 1, broken : 1, dirty : 1, finished : 1, eof : 1,
	    eof_held : 1;
	struct smtpd_io *dirty_next;
	uint64_t close_deadline;	/* ms, while closing */
};

/* Adopt a connected socket and start receiving. */
void smtpd_io_start(struct smtpd_io *io, struct smtpd_iosys *sys, int fd,
    const struct smtpd_io_cb *cb);
/* Queue bytes for the client. */
void smtpd_io_write(struct smtpd_io *io, const char *p, size_t n);
/* Set or clear a pause reason; input flows when none is set. */
void smtpd_io_pause(struct smtpd_io *io, unsigned reason, int on);
/* Flush what is queued, then close. */
void smtpd_io_close(struct smtpd_io *io);
/* Close now, dropping unsent output. */
void smtpd_io_abort(struct smtpd_io *io);
/* before_sleep: one send for every connection with queued output. */
void smtpd_io_flush_all(struct smtpd_iosys *sys);
/* The session's view of this layer (ctx is the struct smtpd_io). */
extern const struct smtpd_io_ops smtpd_io_session_ops;
#endif
