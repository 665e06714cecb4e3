/* authdb: the accounts snapshot (lib/users) that the helper threads of
 * pop3d and smtpd check passwords against.  Checks run concurrently under
 * a read lock; the snapshot is refreshed (users_refresh: the file changed)
 * by whichever thread first checks in a new second, under the write lock,
 * so `mtactl user add` takes effect without a restart.  A load error is
 * logged once until the file loads again.  A check that succeeded is
 * remembered for auth_cache_ttl (lib/authcache), so the same login again
 * skips the hash.  Passwords are never logged. */
#ifndef LIB_AUTHDB_H
#define LIB_AUTHDB_H
#include "lib/authcache.h"

#include <pthread.h>
#include <stdint.h>

struct users;

struct authdb {
	const char *path;
	pthread_rwlock_t lock;
	struct users *users;		/* NULL: never loaded */
	uint64_t checked;		/* s, monotonic */
	int failed;			/* the last load failed (logged) */
	struct authcache cache;
};

/* Load path now (an error is logged; it is retried at the next check);
 * successful checks are remembered cache_ttl seconds (0: never).  Call
 * before any sandbox (see authcache_init). */
void authdb_init(struct authdb *db, const char *path, unsigned cache_ttl);
void authdb_free(struct authdb *db);
/* On a helper thread: 1 if password matches user's hash, 0 if not (an
 * unknown user costs the same crypt; a recently verified login none),
 * -EAGAIN if the accounts file has
 * never loaded (a temporary failure, not the client's fault). */
int authdb_check(struct authdb *db, const char *user, const char *password);
#endif
