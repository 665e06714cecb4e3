/* loadgen_tls: the client context; see loadgen_tls.h.  With resumption the
 * context keeps the sessions (tickets) the server issued, newest first, and
 * gives each new connection one of them to offer: OpenSSL uses a TLS 1.3
 * session for one resumption only (RFC 8446 C.4), so one shared session
 * would fail every connection that starts while another is resuming with
 * it.  Tickets arrive after the handshake and are read by lib/tls's
 * SSL_read loop.  One process, one ring, one thread: no locks. */
#include <openssl/ssl.h>
#include <stdlib.h>

#include "lib/mem.h"
#include "lib/tls.h"
#include "bench/loadgen_tls.h"

#define LG_TLS_KEEP 256		/* sessions kept; the oldest go first */

struct lg_tls_saved {
	SSL_SESSION *s[LG_TLS_KEEP];	/* a ring: n of them end at top */
	unsigned top, n;
};

/* A new session (ticket) from the server: keep it, dropping the oldest
 * when full. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct lg_tls_saved *sv = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	if (sv == NULL)
		return 0;
	if (sv->n == LG_TLS_KEEP)
		SSL_SESSION_free(sv->s[(sv->top + LG_TLS_KEEP - sv->n) %
		    LG_TLS_KEEP]);
	else
		sv->n++;
	sv->s[sv->top] = sess;
	sv->top = (sv->top + 1) % LG_TLS_KEEP;
	return 1;	/* the reference is ours now */
}

/* The newest kept session, taken out (the caller frees it), or NULL. */
static SSL_SESSION *take(struct lg_tls_saved *sv)
{
	if (sv->n == 0)
		return NULL;
	sv->n--;
	sv->top = (sv->top + LG_TLS_KEEP - 1) % LG_TLS_KEEP;
	return sv->s[sv->top];
}

void *loadgen_tls_ctx_new(int resume)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (!resume) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		return ctx;
	}
	SSL_CTX_set_app_data(ctx, xcalloc(1, sizeof(struct lg_tls_saved)));
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	return ctx;
}

void loadgen_tls_ctx_free(void *ctx)
{
	struct lg_tls_saved *sv;
	SSL_SESSION *s;

	if (ctx == NULL)
		return;
	sv = SSL_CTX_get_app_data(ctx);
	if (sv != NULL) {
		while ((s = take(sv)) != NULL)
			SSL_SESSION_free(s);
		free(sv);
	}
	SSL_CTX_free(ctx);
}

struct tls *loadgen_tls_session(void *ctx, const char *host)
{
	struct lg_tls_saved *sv = SSL_CTX_get_app_data(ctx);
	struct tls *t = tls_new(ctx, 0, host);
	SSL_SESSION *s;

	if (t == NULL || sv == NULL)
		return t;
	/* Skip sessions OpenSSL will not offer (already used, expired). */
	while ((s = take(sv)) != NULL) {
		int ok = SSL_SESSION_is_resumable(s) &&
		    SSL_set_session(tls_ssl(t), s) == 1;

		SSL_SESSION_free(s);	/* the SSL holds its own reference */
		if (ok)
			break;
	}
	return t;
}
