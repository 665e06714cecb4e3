/* remote_tls: OpenSSL client sessions over memory BIOs; see remote_tls.h.
 * The read BIO is filled with what the ring received, the write BIO is
 * drained into the connection's output after every call, so no OpenSSL
 * call ever touches a socket or blocks. */
#include "deliver/remote_tls.h"
#include "lib/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

struct remote_tls {
	SSL *ssl;
	BIO *rbio, *wbio;	/* owned by ssl */
	int done;		/* handshake finished */
	char why[160];
};

void *remote_tls_ctx_new(enum remote_tls_policy policy)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	/* Opportunistic TLS authenticates nobody (RFC 7435): anything beats
	 * plaintext.  A verifying policy would set SSL_VERIFY_PEER here. */
	if (policy == REMOTE_TLS_MAY)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

void remote_tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

static int is_address(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 ||
	    inet_pton(AF_INET6, s, tmp) == 1;
}

struct remote_tls *remote_tls_new(void *ctx, const char *sni)
{
	struct remote_tls *t = xcalloc(1, sizeof(*t));

	t->ssl = SSL_new(ctx);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_connect_state(t->ssl);
	if (sni != NULL && sni[0] != '\0' && !is_address(sni))
		SSL_set_tlsext_host_name(t->ssl, sni);
	return t;
}

void remote_tls_free(struct remote_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

static void note_error(struct remote_tls *t, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[128];

	if (e == 0) {
		snprintf(t->why, sizeof(t->why), "%s", what);
	} else {
		ERR_error_string_n(e, reason, sizeof(reason));
		snprintf(t->why, sizeof(t->why), "%s: %s", what, reason);
	}
	ERR_clear_error();
}

/* Everything OpenSSL wants sent, into wire. */
static int drain(struct remote_tls *t, struct buf *wire)
{
	size_t pend;

	while ((pend = BIO_ctrl_pending(t->wbio)) > 0) {
		int n;

		if (buf_reserve(wire, pend) < 0)
			return -EPROTO;
		n = BIO_read(t->wbio, wire->data + wire->len, (int)pend);
		if (n <= 0)
			return -EPROTO;
		wire->len += (size_t)n;
	}
	return 0;
}

static int handshake(struct remote_tls *t)
{
	int rc = SSL_do_handshake(t->ssl);

	if (rc == 1) {
		t->done = 1;
		return 1;
	}
	if (SSL_get_error(t->ssl, rc) == SSL_ERROR_WANT_READ)
		return 0;
	note_error(t, "TLS handshake failed");
	return -EPROTO;
}

int remote_tls_start(struct remote_tls *t, struct buf *wire)
{
	if (handshake(t) < 0)
		return -EPROTO;
	return drain(t, wire);
}

/* Decrypt what the read BIO holds into plain. */
static int read_all(struct remote_tls *t, struct buf *plain)
{
	for (;;) {
		char tmp[16384];
		int n = SSL_read(t->ssl, tmp, sizeof(tmp));

		if (n > 0) {
			if (buf_append(plain, tmp, (size_t)n) < 0)
				return -EPROTO;
			continue;
		}
		switch (SSL_get_error(t->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			return 0;
		case SSL_ERROR_ZERO_RETURN:
			snprintf(t->why, sizeof(t->why), "TLS closed by peer");
			return -EPIPE;
		default:
			note_error(t, "TLS read failed");
			return -EPROTO;
		}
	}
}

int remote_tls_input(struct remote_tls *t, const char *p, size_t n,
    struct buf *plain, struct buf *wire)
{
	int done_now = 0, rc;

	if (n > 0 && BIO_write(t->rbio, p, (int)n) != (int)n) {
		note_error(t, "TLS buffer");
		return -EPROTO;
	}
	if (!t->done) {
		rc = handshake(t);
		if (rc < 0) {
			drain(t, wire);	/* the alert, if any */
			return rc;
		}
		done_now = rc;
	}
	rc = t->done ? read_all(t, plain) : 0;
	if (drain(t, wire) < 0)
		return -EPROTO;
	return rc < 0 ? rc : done_now;
}

int remote_tls_write(struct remote_tls *t, const char *p, size_t n,
    struct buf *wire)
{
	while (n > 0) {
		int k = n > 1 << 20 ? 1 << 20 : (int)n;
		int w = SSL_write(t->ssl, p, k);

		if (w <= 0) {
			note_error(t, "TLS write failed");
			return -EPROTO;
		}
		p += w;
		n -= (size_t)w;
	}
	return drain(t, wire);
}

void remote_tls_describe(const struct remote_tls *t, char *out, size_t n)
{
	snprintf(out, n, "%s %s", SSL_get_version(t->ssl),
	    SSL_get_cipher_name(t->ssl));
}

const char *remote_tls_why(const struct remote_tls *t)
{
	return t->why[0] ? t->why : "TLS error";
}
