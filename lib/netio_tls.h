/* netio_tls: TLS as a netio layer (lib/tls underneath), for servers:
 * STARTTLS/STLS slide it under a running session, implicit TLS (smtps,
 * pop3s) starts with it.  Output written after netio_tls_server is
 * encrypted (and waits for the handshake); input is decrypted before
 * the session sees it.  The owner hears cb->secured when the handshake
 * completes and cb->eof(-EPROTO) when TLS fails. */
#ifndef LIB_NETIO_TLS_H
#define LIB_NETIO_TLS_H
#include <stddef.h>

#include "lib/netio.h"

/* Put a server session on ctx (tls_server's) under io.  0, or -1 when
 * OpenSSL cannot make one. */
int netio_tls_server(struct netio *io, void *ctx);
/* Implicit TLS (smtps, pop3s) on a new connection from ip: as
 * netio_tls_server, but on failure it logs and aborts the connection
 * (the caller marks its session closed). */
int netio_tls_implicit(struct netio *io, void *ctx, const char *ip);
/* The servers' log lines: "TLS with [ip]: TLSv1.3 cipher (resumed)" from
 * cb->secured; "TLS failed with [ip]: why" from cb->eof when err is
 * -EPROTO and TLS is on (else nothing). */
void netio_tls_log_up(const struct netio *io, const char *ip);
void netio_tls_log_failure(const struct netio *io, int err, const char *ip);
#endif
