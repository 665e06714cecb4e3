/* authdb: the accounts snapshot (lib/users) that the helper threads of
 * pop3d and smtpd check passwords against.  Checks run concurrently under
 * a read lock; the snapshot is refreshed (users_refresh: the file changed)
 * by whichever thread first checks in a new second, under the write lock,
 * so `mtactl user add` takes effect without a restart.  A load error is
 * logged once until the file loads again.  Passwords are never logged. */
#ifndef LIB_AUTHDB_H
#define LIB_AUTHDB_H
#include <pthread.h>
#include <stdint.h>

struct users;

struct authdb {
	const char *path;
	pthread_rwlock_t lock;
	struct users *users;		/* NULL: never loaded */
	uint64_t checked;		/* s, monotonic */
	int failed;			/* the last load failed (logged) */
};

/* Load path now (an error is logged; it is retried at the next check). */
void authdb_init(struct authdb *db, const char *path);
void authdb_free(struct authdb *db);
/* On a helper thread: 1 if password matches user's hash, 0 if not (an
 * unknown user costs the same crypt), -EAGAIN if the accounts file has
 * never loaded (a temporary failure, not the client's fault). */
int authdb_check(struct authdb *db, const char *user, const char *password);
#endif
