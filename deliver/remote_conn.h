/* remote_conn: one outbound TCP connection on the ring -- non-blocking
 * connect, a single-shot recv into the process's provided-buffer ring (an
 * idle connection holds no receive buffer), one send in flight with the
 * next batch collected behind it and flushed once per loop turn, and an
 * optional TLS layer (memory BIOs) between the wire and the session.
 * Closing cancels the ops and waits for their completions; only then is
 * the fd closed and the owner told (cb->closed), never from inside a
 * call the owner made. */
#ifndef DELIVER_REMOTE_CONN_H
#define DELIVER_REMOTE_CONN_H
#include <stddef.h>
#include <sys/socket.h>

#include "deliver/remote.h"
#include "lib/buf.h"
#include "lib/ev.h"

#define REMOTE_CONN_HIGH (128 * 1024)	/* content queued at most */

struct remote_conn;
struct tls;

/* What the owner hears (each may be NULL except closed). */
struct remote_conn_cb {
	void (*connected)(struct remote_conn *c, int err);
	/* plaintext bytes from the server */
	void (*input)(struct remote_conn *c, const char *p, size_t n);
	/* the server closed (0) or the connection failed (<0); once */
	void (*eof)(struct remote_conn *c, int err);
	/* a send completed (progress; see remote_conn_pending) */
	void (*writable)(struct remote_conn *c);
	/* the TLS handshake ended: 0 done, <0 failed */
	void (*tls_done)(struct remote_conn *c, int err);
	/* every op finished, fd closed: the owner may reuse or free c */
	void (*closed)(struct remote_conn *c);
};

struct remote_conn {
	struct remote *rm;
	const struct remote_conn_cb *cb;
	int fd;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct ev_op conn_op, recv_op, send_op;
	struct buf out, wire;
	size_t wire_off;
	struct tls *tls;		/* NULL: plaintext */
	unsigned conn_busy : 1, recv_busy : 1, send_busy : 1, connected : 1,
	    shut : 1, eof : 1, dirty : 1, handshaking : 1, finished : 1;
	struct remote_conn *dirty_next;
};

/* Create a non-blocking socket and connect it to sa; cb->connected tells
 * the outcome.  0, or -errno when no socket could be made (nothing to
 * close then). */
int remote_conn_open(struct remote_conn *c, struct remote *rm,
    const struct remote_conn_cb *cb, const struct sockaddr *sa,
    socklen_t salen);
/* Queue plaintext for the server (through TLS when on). */
void remote_conn_write(struct remote_conn *c, const char *p, size_t n);
/* Wire bytes queued or in flight. */
size_t remote_conn_pending(const struct remote_conn *c);
/* Begin a TLS handshake (after "220" to STARTTLS); cb->tls_done follows.
 * With verify_host (not NULL) the handshake fails unless the server's
 * certificate verifies and names it (remote_tls_verify).  0 or -errno
 * (no TLS object could be made). */
int remote_conn_starttls(struct remote_conn *c, void *ctx, const char *sni,
    const char *verify_host);
/* Stop now, dropping unsent output; cb->closed follows. */
void remote_conn_close(struct remote_conn *c);
/* before_sleep: start a send on every connection with queued output and
 * finish closed ones. */
void remote_conn_flush_all(struct remote *rm);
#endif
