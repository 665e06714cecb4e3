/* remote_tls: the client side of mta-remote's STARTTLS policy.  Sessions
 * are lib/tls (OpenSSL over memory BIOs); this is the one client context
 * (its trust store: smtp_tls_ca_file, else the system's) and what a
 * "verify" session adds to a lib/tls session: peer verification against
 * that store and the next-hop host name.  Which policy a delivery runs
 * under, and what a failure means, is remote_session.c. */
#ifndef DELIVER_REMOTE_TLS_H
#define DELIVER_REMOTE_TLS_H
#include <stddef.h>

struct tls;

/* The process's client context (an SSL_CTX), NULL if OpenSSL cannot make
 * one.  ca_file (PEM, may be empty: the system store) is the trust store
 * of "verify"; when it cannot be loaded the reason is in err and the
 * context is still made (verification then fails, "may" and "must" work). */
void *remote_tls_ctx_new(const char *ca_file, char *err, size_t errlen);
void remote_tls_ctx_free(void *ctx);
/* Make t, before its handshake, fail unless the server's chain verifies
 * and its certificate names host (a DNS name, or an address literal
 * matched against IP SANs).  0, or -1 if OpenSSL refuses the name. */
int remote_tls_verify(struct tls *t, const char *host);
/* After a failed handshake: why the certificate was refused ("hostname
 * mismatch", "self-signed certificate", ...), or NULL when verification
 * was not the reason. */
const char *remote_tls_verify_error(const struct tls *t);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384": the status line's tls= field. */
void remote_tls_field(const struct tls *t, char *out, size_t n);
#endif
