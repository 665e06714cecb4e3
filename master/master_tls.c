/* master_tls: the servers' certificate; see master.h.  The master reads
 * the key (as root when privilege separation is on, so it can stay
 * root-only) and hands smtpd and pop3d a sealed memfd: they never open a
 * key file, and the same ticket keys in every worker let a session
 * resume on any of them.  `make run` needs no setup: on first start a
 * self-signed pair for `hostname` appears in $state_dir/tls/. */
#include "master/master.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


/* 1 if path is state_dir/rel (the derived default). */
static int is_default(const struct conf *c, const char *path,
    const char *rel)
{
	char want[4200];

	snprintf(want, sizeof(want), "%s/%s", c->state_dir, rel);
	return strcmp(path, want) == 0;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* The first start with the defaults: make the pair. */
static int maybe_selfsign(const struct conf *c, char *err, size_t errlen)
{
	char dir[4200];

	if (!is_default(c, c->tls_cert_file, "tls/cert.pem") ||
	    !is_default(c, c->tls_key_file, "tls/key.pem") ||
	    exists(c->tls_cert_file) || exists(c->tls_key_file))
		return 0;
	snprintf(dir, sizeof(dir), "%s/tls", c->state_dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (master_tls_selfsign(c->hostname, c->tls_cert_file,
	    c->tls_key_file, err, errlen) < 0)
		return -1;
	log_info("generated a self-signed certificate for %s in %s "
	    "(set tls_cert_file and tls_key_file for a real one)",
	    c->hostname, dir);
	return 0;
}

static int seal_bundle(const struct tls_bundle *b, char *err,
    size_t errlen)
{
	int fd = memfd_create("mta-tls", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if ((rc = tls_bundle_write(fd, b)) < 0 ||
	    (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) < 0 && (rc = -errno) < 0)) {
		snprintf(err, errlen, "TLS memfd: %s", strerror(-rc));
		close(fd);
		return -1;
	}
	return fd;
}

int master_tls_prepare(const struct conf *c, const unsigned char *tickets,
    char *err, size_t errlen)
{
	struct tls_bundle b;
	void *ctx;
	int fd;

	if (maybe_selfsign(c, err, errlen) < 0 ||
	    tls_bundle_load(&b, c->tls_cert_file, c->tls_key_file, err,
	    errlen) < 0)
		return -1;
	memcpy(b.ticket_keys, tickets, sizeof(b.ticket_keys));
	if ((ctx = tls_server_ctx_new(&b, err, errlen)) == NULL) {
		tls_bundle_free(&b);
		return -1;
	}
	tls_server_ctx_free(ctx);
	fd = seal_bundle(&b, err, errlen);
	tls_bundle_free(&b);
	return fd;
}
