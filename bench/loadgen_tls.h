/* loadgen_tls: mta-loadgen's client TLS context.  A benchmark client: no
 * certificate verification, TLS 1.2 and later.  Without --tls-resume every
 * connection runs a full handshake; with it each new connection offers one
 * of the sessions (tickets) the server handed out, newest first.  Sessions are
 * lib/tls (OpenSSL over memory BIOs), so the ring keeps the socket I/O.
 * Called by loadgen_run (the context) and loadgen_conn (sessions). */
#ifndef BENCH_LOADGEN_TLS_H
#define BENCH_LOADGEN_TLS_H

struct tls;

/* The run's client context, or NULL if OpenSSL cannot make one. */
void *loadgen_tls_ctx_new(int resume);
void loadgen_tls_ctx_free(void *ctx);
/* A client session on ctx for host (SNI unless an address literal),
 * offering a kept session (used up by it) when the context keeps them. */
struct tls *loadgen_tls_session(void *ctx, const char *host);
#endif
