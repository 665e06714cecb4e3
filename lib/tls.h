/* tls: one TLS session, client or server, with OpenSSL 3 over memory BIOs.
 * The ring moves the wire bytes; OpenSSL only transforms them, so no
 * OpenSSL call ever touches a socket or blocks.  Used by netio's TLS layer
 * (smtpd, pop3d: STARTTLS/STLS and implicit TLS) and by mta-remote's
 * STARTTLS.  Contexts (certificates, verification policy) are the
 * caller's; lib/tls_server builds the servers' one. */
#ifndef LIB_TLS_H
#define LIB_TLS_H
#include <stddef.h>

#include "lib/buf.h"

struct tls;

/* A session on ctx (an SSL_CTX).  A client sends sni (unless it is an
 * address literal or NULL).  NULL if OpenSSL cannot make one. */
struct tls *tls_new(void *ctx, int server, const char *sni);
void tls_free(struct tls *t);
/* Client: start the handshake, the ClientHello goes to wire.  0 or
 * -EPROTO.  (A server waits for the client's first bytes.) */
int tls_start(struct tls *t, struct buf *wire);
/* Wire bytes from the peer: plaintext is appended to plain, bytes to send
 * to wire.  1 when the handshake completed during this call, 0 when all
 * is well, -EPROTO on failure (an alert may be in wire), -EPIPE when the
 * peer closed TLS. */
int tls_input(struct tls *t, const char *p, size_t n, struct buf *plain,
    struct buf *wire);
/* Encrypt plaintext into wire.  Before the handshake has completed the
 * plaintext waits (a server's greeting on implicit TLS) and leaves with
 * the handshake's end.  0 or -EPROTO. */
int tls_write(struct tls *t, const char *p, size_t n, struct buf *wire);
/* Say goodbye: a close_notify alert into wire (after the handshake). */
void tls_close(struct tls *t, struct buf *wire);
/* 1 once the handshake has completed. */
int tls_ready(const struct tls *t);
/* 1 if this session resumed an earlier one (tickets). */
int tls_resumed(const struct tls *t);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", for logs. */
void tls_describe(const struct tls *t, char *out, size_t n);
/* Why the last call failed (OpenSSL's reason), for logs. */
const char *tls_why(const struct tls *t);
/* The underlying SSL, for callers that verify a peer. */
void *tls_ssl(const struct tls *t);
#endif
