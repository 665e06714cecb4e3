/* tls_server: the TLS server side shared by mta-smtpd and mta-pop3d.
 * The master reads tls_cert_file and tls_key_file (as root, so the key
 * can stay root-only), checks them, and hands the daemons one sealed
 * memfd (MTA_FDS role "tls") holding the certificate chain, the key and
 * the session-ticket keys; each daemon builds its context from it before
 * it drops anything else, and never opens a key file.  One set of ticket
 * keys per master start means a ticket from one smtpd worker resumes on
 * any other.  A new memfd on SIGHUP is the certificate reload. */
#ifndef LIB_TLS_SERVER_H
#define LIB_TLS_SERVER_H
#include <stddef.h>

#define TLS_TICKET_KEYS_LEN 80	/* name 16, HMAC 32, AES 32 */
#define TLS_PEM_MAX (1u << 20)	/* bytes of a certificate chain or key */

struct tls_bundle {
	char *cert;		/* PEM: leaf first, then the chain */
	size_t cert_len;
	char *key;		/* PEM private key */
	size_t key_len;
	unsigned char ticket_keys[TLS_TICKET_KEYS_LEN];
};

/* A server context (SSL_CTX) from b: TLS 1.2 and 1.3 only, forward-secret
 * AEAD ciphers, no renegotiation or compression, session tickets with b's
 * keys.  NULL with the reason in err (no such key, key and certificate
 * do not match, bad PEM). */
void *tls_server_ctx_new(const struct tls_bundle *b, char *err,
    size_t errlen);
void tls_server_ctx_free(void *ctx);

/* The bundle as bytes on fd (a memfd), from offset 0.  0 or -errno. */
int tls_bundle_write(int fd, const struct tls_bundle *b);
/* Read it back (pread: the offset is shared with other daemons).  0, or
 * -errno with the reason in err.  Free with tls_bundle_free. */
int tls_bundle_read(int fd, struct tls_bundle *b, char *err,
    size_t errlen);
/* Wipe the key and free. */
void tls_bundle_free(struct tls_bundle *b);
/* cert_path and key_path read into b, with fresh ticket keys.  0, or
 * -errno with "path: reason" in err. */
int tls_bundle_load(struct tls_bundle *b, const char *cert_path,
    const char *key_path, char *err, size_t errlen);
/* A daemon's server context: from the inherited "tls" descriptor (which
 * is closed) when the master started it, else from c's tls_cert_file and
 * tls_key_file (a manual run).  NULL with the reason in err. */
struct conf;
void *tls_server_ctx_load(const struct conf *c, char *err, size_t errlen);
#endif
