/* authcache: passwords verified recently, so that a client that logs in
 * again and again with the same credentials (a bulk sender opening a new
 * smtps connection per message, a POP3 client polling each minute) pays
 * the slow hash (1-2 ms for SHA-512-crypt, more for yescrypt) once per
 * auth_cache_ttl instead of once per login.
 *
 * What is kept is not the password: each slot holds HMAC-SHA256, under a
 * key drawn at start and never written anywhere, of (address, password,
 * the account's crypt hash), and when it expires.  Only successful checks
 * are stored, so a wrong password always pays the full hash (guessing is
 * no faster), and a changed password or a deleted account misses at once
 * (the hash is part of the MAC).  The table is direct-mapped and bounded:
 * a slot taken by another login simply means one more full hash.
 * Shared by the helper threads of one process (a mutex per lookup). */
#ifndef LIB_AUTHCACHE_H
#define LIB_AUTHCACHE_H
#include <pthread.h>
#include <stdint.h>

#define AUTHCACHE_SLOTS 1024	/* a power of two */
#define AUTHCACHE_MAC 32	/* bytes of HMAC-SHA256 */

struct authcache_slot {
	unsigned char mac[AUTHCACHE_MAC];
	uint64_t expires;		/* s, monotonic; 0: empty */
};

struct authcache {
	pthread_mutex_t lock;
	unsigned ttl;			/* s; 0: off */
	void *hmac;			/* EVP_MAC_CTX keyed, copied per use */
	struct authcache_slot *slot;
};

/* The MAC of one login attempt, from authcache_hit to authcache_add. */
struct authcache_key {
	int valid;
	unsigned char mac[AUTHCACHE_MAC];
};

/* A cache keeping entries ttl seconds (0: off).  Call before any
 * sandbox: it draws the key and loads HMAC.  When that fails the cache is
 * off (logged): logins still work, each paying the hash. */
void authcache_init(struct authcache *ac, unsigned ttl);
void authcache_free(struct authcache *ac);
/* 1 if (address, password, hash) was verified within ttl at now (s);
 * k is set for authcache_add either way. */
int authcache_hit(struct authcache *ac, struct authcache_key *k,
    const char *address, const char *password, const char *hash,
    uint64_t now);
/* Remember k's login as verified at now. */
void authcache_add(struct authcache *ac, const struct authcache_key *k,
    uint64_t now);
#endif
