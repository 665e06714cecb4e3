/* Unit tests for lib/authcache.c and the cache in lib/authdb.c: off when
 * the ttl is 0, a verified login hits until its ttl ends, any change to
 * the address, password or hash misses (also when only the field
 * boundaries move), each cache has its own key, a collision evicts, and
 * through authdb: a wrong password never hits, a password change or a
 * deleted account refuses the cached login at the next reload. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/authcache.h"
#include "lib/authdb.h"
#include "lib/users.h"

/* Made with crypt(3): "secret6" ($6$). */
#define H6 "$6$tFwqcdE3Cw1egABl$oNuHlayt4c5B9vZXvnYdVQOGjZO4afbIPbVu1/U4fg" \
	"tH2ve6LRP8gPaO8AubEXPbpwKuvcDDZne3U6QNc7NXT0"
#define T0 1000u		/* s, an arbitrary "now" */

static int hit(struct authcache *ac, const char *a, const char *p,
    const char *h, uint64_t now)
{
	struct authcache_key k;

	return authcache_hit(ac, &k, a, p, h, now);
}

static void add(struct authcache *ac, const char *a, const char *p,
    const char *h, uint64_t now)
{
	struct authcache_key k;

	(void)authcache_hit(ac, &k, a, p, h, now);
	authcache_add(ac, &k, now);
}

Test(authcache, off_when_ttl_is_zero)
{
	struct authcache ac;

	authcache_init(&ac, 0);
	add(&ac, "a@x", "pw", H6, T0);
	cr_assert_not(hit(&ac, "a@x", "pw", H6, T0));
	cr_assert_null(ac.slot, "no table when off");
	authcache_free(&ac);
}

Test(authcache, hit_until_the_ttl_ends)
{
	struct authcache ac;

	authcache_init(&ac, 60);
	cr_assert_not(hit(&ac, "a@x", "pw", H6, T0), "empty");
	add(&ac, "a@x", "pw", H6, T0);
	cr_assert(hit(&ac, "a@x", "pw", H6, T0));
	cr_assert(hit(&ac, "a@x", "pw", H6, T0 + 59));
	cr_assert_not(hit(&ac, "a@x", "pw", H6, T0 + 60), "expired");
	add(&ac, "a@x", "pw", H6, T0 + 60);
	cr_assert(hit(&ac, "a@x", "pw", H6, T0 + 119), "renewed");
	authcache_free(&ac);
}

Test(authcache, any_other_field_misses)
{
	struct authcache ac;

	authcache_init(&ac, 60);
	add(&ac, "a@x", "pw", H6, T0);
	cr_assert_not(hit(&ac, "b@x", "pw", H6, T0), "address");
	cr_assert_not(hit(&ac, "a@x", "pW", H6, T0), "password");
	cr_assert_not(hit(&ac, "a@x", "pw", "$6$other$salt", T0), "hash");
	cr_assert_not(hit(&ac, "a@x", "", H6, T0), "empty password");
	cr_assert_not(hit(&ac, "a@x", NULL, H6, T0), "no password");
	cr_assert_not(hit(&ac, "a@x", "pw", NULL, T0), "unknown user");
	/* The same bytes split differently are another login. */
	add(&ac, "ab", "c", H6, T0);
	cr_assert_not(hit(&ac, "a", "bc", H6, T0));
	cr_assert_not(hit(&ac, "abc", "", H6, T0));
	authcache_free(&ac);
}

Test(authcache, each_cache_draws_its_own_key)
{
	struct authcache a, b;
	struct authcache_key ka, kb;

	authcache_init(&a, 60);
	authcache_init(&b, 60);
	(void)authcache_hit(&a, &ka, "a@x", "pw", H6, T0);
	(void)authcache_hit(&b, &kb, "a@x", "pw", H6, T0);
	cr_assert(ka.valid && kb.valid);
	cr_assert_neq(memcmp(ka.mac, kb.mac, sizeof(ka.mac)), 0);
	authcache_free(&a);
	authcache_free(&b);
}

/* The table is bounded: other logins take the slot of an earlier one
 * (then that one pays the hash again), and the newest one hits. */
Test(authcache, the_table_is_bounded)
{
	struct authcache ac;
	char pw[32];
	int i;

	authcache_init(&ac, 60);
	add(&ac, "a@x", "pw", H6, T0);
	for (i = 0; i < 100 * AUTHCACHE_SLOTS; i++) {
		snprintf(pw, sizeof(pw), "other%d", i);
		add(&ac, "a@x", pw, H6, T0);
		if (!hit(&ac, "a@x", "pw", H6, T0))
			break;
	}
	cr_assert_lt(i, 100 * AUTHCACHE_SLOTS, "never evicted");
	cr_assert(hit(&ac, "a@x", pw, H6, T0), "the newest login hits");
	authcache_free(&ac);
}

static char dir[] = "/tmp/test_authcache.XXXXXX";
static char path[600];
static char err[512];

static void db_setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
}

static void db_teardown(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static void update(enum users_op op, const char *address, const char *hash)
{
	cr_assert_eq(users_file_update(path, op, address, hash, -1, err,
	    sizeof(err)), 0, "%s", err);
}

/* Through authdb: what is remembered is a verified login, never a guess,
 * and the file's current hash decides. */
Test(authdb_cache, follows_the_accounts_file, .init = db_setup,
    .fini = db_teardown)
{
	struct authdb db;
	char h[USERS_HASH_MAX];

	update(USERS_ADD, "a@x", H6);
	update(USERS_ADD, "b@x", H6);
	authdb_init(&db, path, 300);
	cr_assert_eq(authdb_check(&db, "a@x", "secret7"), 0);
	cr_assert_eq(authdb_check(&db, "a@x", "secret6"), 1);
	cr_assert_eq(authdb_check(&db, "a@x", "secret6"), 1, "cached");
	cr_assert_eq(authdb_check(&db, "b@x", "secret6"), 1);
	cr_assert_eq(authdb_check(&db, "a@x", "secret7"), 0, "still wrong");
	cr_assert_eq(authdb_check(&db, "c@x", "secret6"), 0, "no account");

	cr_assert_eq(users_hash("new secret", h, sizeof(h)), 0);
	update(USERS_PASSWD, "a@x", h);
	update(USERS_DEL, "b@x", NULL);
	sleep(2);			/* the snapshot reloads once a second */
	cr_assert_eq(authdb_check(&db, "a@x", "secret6"), 0, "old password");
	cr_assert_eq(authdb_check(&db, "a@x", "new secret"), 1);
	cr_assert_eq(authdb_check(&db, "b@x", "secret6"), 0, "deleted");
	authdb_free(&db);
}
