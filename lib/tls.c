/* tls: sessions over memory BIOs; see tls.h.  The read BIO is filled with
 * what the ring received, the write BIO is drained into the caller's wire
 * buffer after every call.  Plaintext written before the handshake has
 * completed waits in `early` (OpenSSL would try to handshake and fail for
 * want of input) and is encrypted as soon as it completes. */
#include "lib/tls.h"
#include "lib/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

#define TLS_READ_CHUNK 16384	/* one TLS record's plaintext at most */
#define TLS_WRITE_CHUNK (1 << 20)

struct tls {
	SSL *ssl;
	BIO *rbio, *wbio;	/* owned by ssl */
	int done;		/* handshake finished */
	struct buf early;	/* plaintext written before that */
	char why[160];
};

static int is_address(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 ||
	    inet_pton(AF_INET6, s, tmp) == 1;
}

struct tls *tls_new(void *ctx, int server, const char *sni)
{
	struct tls *t = xcalloc(1, sizeof(*t));

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
	/* An empty memory BIO means "try again", not end of file. */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	buf_init(&t->early, 0);
	if (server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (sni != NULL && sni[0] != '\0' && !is_address(sni))
			SSL_set_tlsext_host_name(t->ssl, sni);
	}
	return t;
}

void tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	buf_free(&t->early);
	free(t);
}

static void note_error(struct tls *t, const char *what)
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
static int drain(struct tls *t, struct buf *wire)
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

static int handshake(struct tls *t)
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

int tls_start(struct tls *t, struct buf *wire)
{
	if (handshake(t) < 0)
		return -EPROTO;
	return drain(t, wire);
}

/* Decrypt what the read BIO holds into plain. */
static int read_all(struct tls *t, struct buf *plain)
{
	for (;;) {
		char tmp[TLS_READ_CHUNK];
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

static int seal(struct tls *t, const char *p, size_t n)
{
	while (n > 0) {
		int k = n > TLS_WRITE_CHUNK ? TLS_WRITE_CHUNK : (int)n;
		int w = SSL_write(t->ssl, p, k);

		if (w <= 0) {
			note_error(t, "TLS write failed");
			return -EPROTO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tls_input(struct tls *t, const char *p, size_t n, struct buf *plain,
    struct buf *wire)
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
		if (done_now && t->early.len > 0) {
			rc = seal(t, t->early.data, t->early.len);
			buf_free(&t->early);
			if (rc < 0)
				return rc;
		}
	}
	rc = t->done ? read_all(t, plain) : 0;
	if (drain(t, wire) < 0)
		return -EPROTO;
	return rc < 0 ? rc : done_now;
}

int tls_write(struct tls *t, const char *p, size_t n, struct buf *wire)
{
	if (!t->done)
		return buf_append(&t->early, p, n) < 0 ? -EPROTO : 0;
	if (seal(t, p, n) < 0)
		return -EPROTO;
	return drain(t, wire);
}

void tls_close(struct tls *t, struct buf *wire)
{
	if (!t->done)
		return;
	(void)SSL_shutdown(t->ssl);	/* 0: our half sent, theirs not read */
	ERR_clear_error();
	(void)drain(t, wire);
}

int tls_ready(const struct tls *t)
{
	return t->done;
}

int tls_resumed(const struct tls *t)
{
	return t->done && SSL_session_reused(t->ssl);
}

void tls_describe(const struct tls *t, char *out, size_t n)
{
	snprintf(out, n, "%s %s", SSL_get_version(t->ssl),
	    SSL_get_cipher_name(t->ssl));
}

const char *tls_why(const struct tls *t)
{
	return t->why[0] ? t->why : "TLS error";
}

void *tls_ssl(const struct tls *t)
{
	return t->ssl;
}
