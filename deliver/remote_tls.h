/* remote_tls: the client side of STARTTLS with OpenSSL 3 over memory BIOs:
 * the ring moves the wire bytes, OpenSSL only transforms them.  Policy
 * today is opportunistic ("may": encrypt when offered, no certificate
 * verification, fall back to plaintext when the handshake fails); the
 * policy argument is the hook for "must"/"verify" later. */
#ifndef DELIVER_REMOTE_TLS_H
#define DELIVER_REMOTE_TLS_H
#include <stddef.h>

#include "lib/buf.h"

enum remote_tls_policy {
	REMOTE_TLS_MAY = 0,	/* opportunistic, unauthenticated */
};

struct remote_tls;

/* The process's client context, NULL if OpenSSL cannot make one. */
void *remote_tls_ctx_new(enum remote_tls_policy policy);
void remote_tls_ctx_free(void *ctx);
/* A session for one connection; sni is sent unless it is an address. */
struct remote_tls *remote_tls_new(void *ctx, const char *sni);
/* Start the handshake: the ClientHello goes to wire.  0 or -EPROTO. */
int remote_tls_start(struct remote_tls *t, struct buf *wire);
/* Wire bytes from the server: plaintext is appended to plain, bytes to
 * send to wire.  1 when the handshake completed during this call, 0 when
 * all is well, -EPROTO on failure, -EPIPE when the server closed TLS. */
int remote_tls_input(struct remote_tls *t, const char *p, size_t n,
    struct buf *plain, struct buf *wire);
/* Encrypt plaintext into wire.  0 or -EPROTO. */
int remote_tls_write(struct remote_tls *t, const char *p, size_t n,
    struct buf *wire);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for the debug log. */
void remote_tls_describe(const struct remote_tls *t, char *out, size_t n);
/* Why the last call failed (OpenSSL's reason), for logs. */
const char *remote_tls_why(const struct remote_tls *t);
void remote_tls_free(struct remote_tls *t);
#endif
