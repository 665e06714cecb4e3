/* netio: the I/O layer of a server connection on the ring (smtpd, pop3d,
 * mta-sink).  Input: a multishot recv into the process's provided-buffer
 * ring; each buffer is handed up (and given back) at once, so an idle
 * connection holds none.  Output: writes are queued and leave in one send
 * per connection per loop turn (flushed from before_sleep).  A layer hook
 * sits between the wire and the session so that STARTTLS can slide TLS in
 * unnoticed.  The owner is told when every op has finished and only then
 * may it free the connection. */
#ifndef LIB_NETIO_H
#define LIB_NETIO_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/ev.h"

#define NETIO_PAUSE_PROTO 0x1	/* the session asked */
#define NETIO_PAUSE_OUTPUT 0x2	/* the client does not read */
#define NETIO_CLOSE_GRACE_MS 10000	/* to flush the last replies */
#define NETIO_OUT_HIGH (256 * 1024)	/* stop reading a non-reader */
#define NETIO_OUT_LOW (64 * 1024)

struct netio;

/* What the owner hears.  input: plaintext bytes; eof: the peer closed
 * its side (err 0: replies can still be sent) or the connection failed
 * (err < 0); done: all ops finished, fd closed (free now). */
struct netio_cb {
	void (*input)(struct netio *io, const char *p, size_t n);
	void (*eof)(struct netio *io, int err);
	void (*done)(struct netio *io);
	/* optional: queued output fell below NETIO_OUT_LOW (a producer
	 * that waited on netio_backlog may write more). */
	void (*drain)(struct netio *io);
	/* optional: the TLS layer's handshake has completed. */
	void (*secured)(struct netio *io);
};

/* A transformation between the wire and the session (TLS: netio_tls).
 * NULL in struct netio means plaintext. */
struct netio_layer {
	/* Wire bytes in; plaintext goes to io->cb->input, bytes to send
	 * (handshake, alerts) are appended to wire.  0 or -errno. */
	int (*decode)(struct netio *io, const char *p, size_t n,
	    struct buf *wire);
	/* Plaintext out; wire bytes appended to wire.  0 or -errno. */
	int (*encode)(struct netio *io, const char *p, size_t n,
	    struct buf *wire);
	/* A graceful close: last words (TLS close_notify) into wire. */
	void (*close)(struct netio *io, struct buf *wire);
	/* The connection is finished: free io->layer_state. */
	void (*free)(struct netio *io);
};

/* Per process: the ring, the buffer ring and the connections to flush. */
struct netio_sys {
	struct ev_loop *loop;
	struct ev_bufring *br;
	struct netio *dirty;
};

struct netio {
	struct netio_sys *sys;
	const struct netio_cb *cb;
	const struct netio_layer *layer;
	void *layer_state;
	int fd;
	struct ev_op recv_op, send_op;
	struct buf out;		/* queued wire bytes */
	struct buf wire;	/* the bytes of the send in flight */
	size_t wire_off;
	struct buf hold;	/* input received while the client does not
				 * read our replies: delivered as they drain */
	unsigned pause;		/* NETIO_PAUSE_* bits */
	unsigned recv_armed : 1, recv_cancel : 1, send_busy : 1, closing : 1,
	    shut : 1, broken : 1, dirty : 1, finished : 1, eof : 1,
	    eof_held : 1, layer_done : 1;
	struct netio *dirty_next;
	uint64_t close_deadline;	/* ms, while closing */
};

/* Adopt a connected socket and start receiving. */
void netio_start(struct netio *io, struct netio_sys *sys, int fd,
    const struct netio_cb *cb);
/* Queue bytes for the client. */
void netio_write(struct netio *io, const char *p, size_t n);
/* Set or clear a pause reason; input flows when none is set. */
void netio_pause(struct netio *io, unsigned reason, int on);
/* Flush what is queued, then close. */
void netio_close(struct netio *io);
/* Close now, dropping unsent output. */
void netio_abort(struct netio *io);
/* before_sleep: one send for every connection with queued output. */
void netio_flush_all(struct netio_sys *sys);
/* Output bytes queued or in flight (producers stop above NETIO_OUT_HIGH
 * and continue from cb->drain). */
size_t netio_backlog(const struct netio *io);
/* The peer of a connected socket as text (IPv4-mapped IPv6 shown as
 * IPv4; "unknown" when it cannot be had), its port (may be NULL) and the
 * raw address (ss_family AF_UNSPEC when unknown). */
void netio_peer(int fd, char *ip, size_t iplen, unsigned *port,
    struct sockaddr_storage *ss);
/* 1 if the address is a loopback one (127/8, ::1, IPv4-mapped 127/8). */
int netio_is_loopback(const struct sockaddr_storage *ss);
/* Bind and listen on each of n listeners (manual runs without the
 * master); fatal on error.  Returns how many fds were put in fds. */
size_t netio_bind_all(const struct conf_listen *v, size_t n, int *fds,
    size_t max);
/* Milliseconds on the coarse monotonic clock (deadlines). */
uint64_t netio_now_ms(void);
#endif
