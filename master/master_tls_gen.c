/* master_tls_gen: the self-signed certificate of a first start; see
 * master.h.  ECDSA P-256 keeps handshakes cheap; the subject and the
 * subjectAltName carry the host name so that clients told to trust this
 * certificate can also check the name. */
#include "master/master.h"
#include "lib/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SELFSIGN_DAYS 3650

static int ossl_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[160] = "";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	snprintf(err, errlen, "self-signed certificate: %s%s%s", what,
	    e ? ": " : "", reason);
	ERR_clear_error();
	return -1;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* The certificate for host over key, signed by itself. */
static X509 *make_cert(EVP_PKEY *key, const char *host)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char san[300];

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* positive */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	snprintf(san, sizeof(san), "DNS:%s", host);
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)SELFSIGN_DAYS * 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_subject_alt_name, san) < 0 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* PEM text of the key or the certificate into path, atomically. */
static int write_pem(const char *path, unsigned mode, EVP_PKEY *key,
    X509 *x, char *err, size_t errlen)
{
	char tmp[4300];
	BIO *bio = BIO_new(BIO_s_mem());
	char *text;
	long len;
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (bio == NULL || (key ? PEM_write_bio_PrivateKey(bio, key, NULL,
	    NULL, 0, NULL, NULL) : PEM_write_bio_X509(bio, x)) != 1) {
		BIO_free(bio);
		return ossl_fail(err, errlen, "PEM");
	}
	len = BIO_get_mem_data(bio, &text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0 || fchmod(fd, mode) < 0 ||
	    fdio_write_all(fd, text, (size_t)len) < 0 || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	BIO_free(bio);
	return rc;
}

int master_tls_selfsign(const char *host, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x;
	int rc;

	if (key == NULL)
		return ossl_fail(err, errlen, "key");
	if ((x = make_cert(key, host)) == NULL) {
		EVP_PKEY_free(key);
		return ossl_fail(err, errlen, "certificate");
	}
	rc = write_pem(key_path, 0600, key, NULL, err, errlen);
	if (rc == 0)
		rc = write_pem(cert_path, 0644, NULL, x, err, errlen);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}
