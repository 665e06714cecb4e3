/* authdb: the shared accounts snapshot; see authdb.h. */
#include "lib/authdb.h"
#include "lib/log.h"
#include "lib/users.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static uint64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Reload the accounts file when it changed (checked once a second). */
static void maybe_refresh(struct authdb *db)
{
	char err[512];
	uint64_t now = mono_s();
	int rc;

	/* Most checks skip the write lock, which would wait for the other
	 * threads' password checks. */
	if (__atomic_load_n(&db->checked, __ATOMIC_ACQUIRE) == now &&
	    !__atomic_load_n(&db->failed, __ATOMIC_ACQUIRE))
		return;
	pthread_rwlock_wrlock(&db->lock);
	if (db->users == NULL || now != db->checked) {
		if (db->users == NULL)
			rc = users_load(&db->users, db->path, err, sizeof(err));
		else
			rc = users_refresh(&db->users, db->path, err,
			    sizeof(err));
		if (rc < 0 && !db->failed)	/* once, until it loads */
			log_warn("users_file: %s", err);
		__atomic_store_n(&db->failed, rc < 0, __ATOMIC_RELEASE);
		__atomic_store_n(&db->checked, now, __ATOMIC_RELEASE);
	}
	pthread_rwlock_unlock(&db->lock);
}

void authdb_init(struct authdb *db, const char *path, unsigned cache_ttl)
{
	memset(db, 0, sizeof(*db));
	db->path = path;
	pthread_rwlock_init(&db->lock, NULL);
	authcache_init(&db->cache, cache_ttl);
	maybe_refresh(db);
}

void authdb_free(struct authdb *db)
{
	if (db->users != NULL)
		users_free(db->users);
	db->users = NULL;
	authcache_free(&db->cache);
	pthread_rwlock_destroy(&db->lock);
}

/* Under the read lock: the hash is the snapshot's, valid until unlock. */
static int check_locked(struct authdb *db, const char *user,
    const char *password)
{
	const char *hash = users_hash_of(db->users, user);
	struct authcache_key k;
	uint64_t now = mono_s();

	if (authcache_hit(&db->cache, &k, user, password, hash, now))
		return 1;
	if (users_check_hash(hash, password) != 1)
		return 0;
	authcache_add(&db->cache, &k, now);
	return 1;
}

int authdb_check(struct authdb *db, const char *user, const char *password)
{
	int rc;

	maybe_refresh(db);
	pthread_rwlock_rdlock(&db->lock);
	rc = db->users == NULL ? -EAGAIN : check_locked(db, user, password);
	pthread_rwlock_unlock(&db->lock);
	return rc;
}
