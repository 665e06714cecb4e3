/* remote_tls: the client context and peer verification; see remote_tls.h.
 * The context never verifies by itself (SSL_VERIFY_NONE: "may" and "must"
 * authenticate nobody, RFC 7435); a "verify" session turns it on for its
 * own SSL only, so one context serves every policy. */
#include "deliver/remote_tls.h"
#include "lib/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>

static void load_store(SSL_CTX *ctx, const char *ca_file, char *err,
    size_t errlen)
{
	char reason[128] = "";
	int ok;

	if (ca_file != NULL && ca_file[0] != '\0')
		ok = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
		snprintf(err, errlen, "%s: %s", ca_file && ca_file[0] ?
		    ca_file : "system trust store", reason);
	}
	ERR_clear_error();
}

void *remote_tls_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (errlen > 0)
		err[0] = '\0';
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	load_store(ctx, ca_file, err, errlen);
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

int remote_tls_verify(struct tls *t, const char *host)
{
	SSL *ssl = tls_ssl(t);
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	int ok;

	/* No partial wildcards ("mx*.example"): RFC 6125 6.4.3. */
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_address(host))
		ok = X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	else
		ok = SSL_set1_host(ssl, host);
	if (!ok) {
		ERR_clear_error();
		return -1;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return 0;
}

const char *remote_tls_verify_error(const struct tls *t)
{
	long v = SSL_get_verify_result(tls_ssl(t));

	if (v == X509_V_OK)
		return NULL;
	return X509_verify_cert_error_string(v);
}

void remote_tls_field(const struct tls *t, char *out, size_t n)
{
	SSL *ssl = tls_ssl(t);

	snprintf(out, n, "%s/%s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}
