/* tls_server: server contexts and the master's bundle; see tls_server.h.
 * The bundle is "MTATLS1\n", two 32-bit lengths (certificate, key) in
 * network order, the ticket keys, then the two PEM texts. */
#include "lib/tls_server.h"
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/fdio.h"
#include "lib/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUNDLE_MAGIC "MTATLS1\n"
#define BUNDLE_HEAD (8 + 4 + 4 + TLS_TICKET_KEYS_LEN)

/* TLS 1.2 suites: ECDHE key exchange and AEAD only.  TLS 1.3 suites are
 * OpenSSL's defaults, all of which qualify. */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

static void ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[160];

	if (e == 0)
		snprintf(err, errlen, "%s", what);
	else {
		ERR_error_string_n(e, reason, sizeof(reason));
		snprintf(err, errlen, "%s: %s", what, reason);
	}
	ERR_clear_error();
}

/* Leaf and chain from PEM text.  0 or -1. */
static int use_chain(SSL_CTX *ctx, const struct tls_bundle *b, char *err,
    size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(b->cert, (int)b->cert_len);
	X509 *x;
	int rc = -1;

	if (bio == NULL)
		return -1;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) == NULL) {
		ssl_err(err, errlen, "no certificate in tls_cert_file");
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		ssl_err(err, errlen, "tls_cert_file");
		goto out;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ssl_err(err, errlen, "tls_cert_file: chain");
			goto out;
		}
	ERR_clear_error();	/* the end of the PEM text */
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

static int use_key(SSL_CTX *ctx, const struct tls_bundle *b, char *err,
    size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(b->key, (int)b->key_len);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
	    NULL;
	int rc = -1;

	if (k == NULL)
		ssl_err(err, errlen, "no private key in tls_key_file");
	else if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), k) != 1)
		ssl_err(err, errlen, "tls_key_file does not match "
		    "tls_cert_file");
	else if (SSL_CTX_use_PrivateKey(ctx, k) != 1)
		ssl_err(err, errlen, "tls_key_file");
	else
		rc = 0;
	EVP_PKEY_free(k);
	BIO_free(bio);
	return rc;
}

void *tls_server_ctx_new(const struct tls_bundle *b, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	static const unsigned char sid_ctx[] = "mta";

	if (ctx == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle connections give their record buffers back (memory per idle
	 * TLS connection). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_num_tickets(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_tlsext_ticket_keys(ctx, (void *)b->ticket_keys,
	    TLS_TICKET_KEYS_LEN) != 1) {
		ssl_err(err, errlen, "TLS settings");
		goto fail;
	}
	if (use_chain(ctx, b, err, errlen) < 0 ||
	    use_key(ctx, b, err, errlen) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_server_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

int tls_bundle_write(int fd, const struct tls_bundle *b)
{
	unsigned char head[BUNDLE_HEAD];
	uint32_t cl = htonl((uint32_t)b->cert_len);
	uint32_t kl = htonl((uint32_t)b->key_len);
	int rc;

	memcpy(head, BUNDLE_MAGIC, 8);
	memcpy(head + 8, &cl, 4);
	memcpy(head + 12, &kl, 4);
	memcpy(head + 16, b->ticket_keys, TLS_TICKET_KEYS_LEN);
	if ((rc = fdio_write_all(fd, head, sizeof(head))) < 0 ||
	    (rc = fdio_write_all(fd, b->cert, b->cert_len)) < 0)
		return rc;
	return fdio_write_all(fd, b->key, b->key_len);
}

static int read_at(int fd, void *p, size_t n, off_t off)
{
	ssize_t r = pread(fd, p, n, off);

	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -EBADMSG;
}

int tls_bundle_read(int fd, struct tls_bundle *b, char *err,
    size_t errlen)
{
	unsigned char head[BUNDLE_HEAD];
	uint32_t cl, kl;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = read_at(fd, head, sizeof(head), 0)) < 0 ||
	    memcmp(head, BUNDLE_MAGIC, 8) != 0) {
		snprintf(err, errlen, "TLS descriptor: not a bundle");
		return rc < 0 ? rc : -EBADMSG;
	}
	memcpy(&cl, head + 8, 4);
	memcpy(&kl, head + 12, 4);
	b->cert_len = ntohl(cl);
	b->key_len = ntohl(kl);
	if (b->cert_len > TLS_PEM_MAX || b->key_len > TLS_PEM_MAX) {
		snprintf(err, errlen, "TLS descriptor: too large");
		return -EBADMSG;
	}
	memcpy(b->ticket_keys, head + 16, TLS_TICKET_KEYS_LEN);
	b->cert = xmalloc(b->cert_len + 1);
	b->key = xmalloc(b->key_len + 1);
	if ((rc = read_at(fd, b->cert, b->cert_len, BUNDLE_HEAD)) < 0 ||
	    (rc = read_at(fd, b->key, b->key_len,
	    (off_t)(BUNDLE_HEAD + b->cert_len))) < 0) {
		snprintf(err, errlen, "TLS descriptor: truncated");
		tls_bundle_free(b);
		return rc;
	}
	return 0;
}

void tls_bundle_free(struct tls_bundle *b)
{
	if (b->key != NULL)
		OPENSSL_cleanse(b->key, b->key_len);
	OPENSSL_cleanse(b->ticket_keys, sizeof(b->ticket_keys));
	free(b->cert);
	free(b->key);
	b->cert = b->key = NULL;
}

static int read_pem(const char *path, char **out, size_t *len, char *err,
    size_t errlen)
{
	struct buf b;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	buf_init(&b, TLS_PEM_MAX);
	rc = fdio_read_all(fd, &b);
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		buf_free(&b);
		return rc;
	}
	*out = b.data != NULL ? b.data : xcalloc(1, 1);
	*len = b.len;
	return 0;
}

int tls_bundle_load(struct tls_bundle *b, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = read_pem(cert_path, &b->cert, &b->cert_len, err,
	    errlen)) < 0 || (rc = read_pem(key_path, &b->key, &b->key_len,
	    err, errlen)) < 0) {
		tls_bundle_free(b);
		return rc;
	}
	if (RAND_bytes(b->ticket_keys, sizeof(b->ticket_keys)) != 1) {
		snprintf(err, errlen, "no random bytes for ticket keys");
		tls_bundle_free(b);
		return -EIO;
	}
	return 0;
}

void *tls_server_ctx_load(const struct conf *c, char *err, size_t errlen)
{
	struct tls_bundle b;
	void *ctx = NULL;
	int fd = -1, rc;

	if (getenv(MTA_FDS_ENV) != NULL) {
		if (fds_get(MTA_FD_ROLE_TLS, &fd, 1) != 1) {
			snprintf(err, errlen, "no TLS descriptor from the "
			    "master");
			return NULL;
		}
		rc = tls_bundle_read(fd, &b, err, errlen);
		close(fd);
	} else {
		rc = tls_bundle_load(&b, c->tls_cert_file, c->tls_key_file,
		    err, errlen);
	}
	if (rc == 0) {
		ctx = tls_server_ctx_new(&b, err, errlen);
		tls_bundle_free(&b);
	}
	return ctx;
}
