/* connlimit_map: the process side of lib/connlimit -- the master's
 * sealed memfd, a worker's mapping of it (or a private table), the
 * refusal log line.  The memfd's size is sealed, so a worker cannot make
 * the master's mapping fault by truncating it; what a worker writes into
 * the table can only miscount connections, and the master reads nothing
 * from it but the owner pids of the slices it frees. */
#include "lib/connlimit.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void random_key(uint64_t key[2])
{
	if (getrandom(key, 2 * sizeof(key[0]), 0) != 2 * sizeof(key[0]))
		fatal("getrandom");
}

int connlimit_create(struct connlimit *t, unsigned nslices)
{
	size_t size = connlimit_size(nslices);
	uint64_t key[2];
	void *p;
	int fd, rc;

	if (size == 0)
		return -EINVAL;
	if ((fd = memfd_create("mta-connlimit", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS,
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	random_key(key);
	connlimit_format(p, nslices, key);
	if ((rc = connlimit_attach(t, p, size)) < 0)
		panic("connlimit: a fresh table does not attach");
	t->shared = t->mapped = 1;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

/* One slice of private memory: limits for this process alone. */
static void open_private(struct connlimit *t)
{
	size_t size = connlimit_size(1);
	uint64_t key[2];
	void *p = xcalloc(1, size);

	random_key(key);
	connlimit_format(p, 1, key);
	if (connlimit_attach(t, p, size) < 0 ||
	    connlimit_claim(t, (int32_t)getpid()) < 0)
		panic("connlimit: a private table does not attach");
}

static int open_shared(struct connlimit *t, int fd)
{
	struct stat st;
	void *p;
	int rc;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX)
		return -EINVAL;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	if ((rc = connlimit_attach(t, p, (size_t)st.st_size)) == 0 &&
	    (rc = connlimit_claim(t, (int32_t)getpid())) >= 0) {
		t->shared = t->mapped = 1;
		return 0;
	}
	munmap(p, (size_t)st.st_size);
	return rc;
}

int connlimit_open(struct connlimit *t, const char *role)
{
	int fd, rc;

	rc = role != NULL ? fds_get(role, &fd, 1) : 0;
	if (rc == 1 && (rc = open_shared(t, fd)) == 0)
		return 0;
	if (rc >= 0)
		rc = -ENOENT;
	open_private(t);
	return rc;
}

void connlimit_close(struct connlimit *t)
{
	if (t->base == NULL)
		return;
	if (t->mapped)
		munmap(t->base, t->size);
	else
		free(t->base);
	t->base = NULL;
}

void connlimit_log_refusal(struct connlimit *t, enum connlimit_verdict v,
    const char *ip, unsigned limit)
{
	struct timespec ts;
	unsigned long dropped = 0;
	char more[64] = "";

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (!connlimit_log_ok(t, (uint64_t)ts.tv_sec, &dropped))
		return;
	if (dropped > 0)
		snprintf(more, sizeof(more), "; %lu more not logged", dropped);
	log_warn("refused [%s]: too many connections%s (limit %u)%s", ip,
	    v == CONNLIMIT_CLIENT ? " from this address" : "", limit, more);
}
