/* authcache: recently verified logins, as keyed MACs; see authcache.h. */
#include "lib/authcache.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* A keyed HMAC-SHA256 context under a fresh random key, or NULL. */
static EVP_MAC_CTX *keyed_hmac(void)
{
	unsigned char key[32];
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_END,
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;

	EVP_MAC_free(mac);		/* ctx holds its own reference */
	if (ctx == NULL || RAND_bytes(key, sizeof(key)) != 1 ||
	    EVP_MAC_init(ctx, key, sizeof(key), params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return ctx;
}

void authcache_init(struct authcache *ac, unsigned ttl)
{
	memset(ac, 0, sizeof(*ac));
	pthread_mutex_init(&ac->lock, NULL);
	if (ttl == 0)
		return;
	if ((ac->hmac = keyed_hmac()) == NULL) {
		log_warn("auth_cache_ttl: HMAC-SHA256 unavailable, every login "
		    "runs the password hash");
		return;
	}
	ac->slot = xcalloc(AUTHCACHE_SLOTS, sizeof(*ac->slot));
	ac->ttl = ttl;
}

void authcache_free(struct authcache *ac)
{
	if (ac->slot != NULL) {
		OPENSSL_cleanse(ac->slot, AUTHCACHE_SLOTS * sizeof(*ac->slot));
		free(ac->slot);
	}
	EVP_MAC_CTX_free(ac->hmac);
	pthread_mutex_destroy(&ac->lock);
	memset(ac, 0, sizeof(*ac));
}

/* Each field with its length first, so no two tuples feed the same bytes. */
static int mac_field(EVP_MAC_CTX *ctx, const char *s)
{
	size_t n = strlen(s);
	unsigned char len[4] = { n >> 24, n >> 16, n >> 8, n };

	return EVP_MAC_update(ctx, len, sizeof(len)) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)s, n) == 1;
}

static int compute(struct authcache *ac, struct authcache_key *k,
    const char *address, const char *password, const char *hash)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(ac->hmac);
	size_t len = 0;
	int ok = ctx != NULL && mac_field(ctx, address) &&
	    mac_field(ctx, password) && mac_field(ctx, hash) &&
	    EVP_MAC_final(ctx, k->mac, &len, sizeof(k->mac)) == 1 &&
	    len == sizeof(k->mac);

	EVP_MAC_CTX_free(ctx);
	return ok;
}

static struct authcache_slot *slot_of(struct authcache *ac,
    const unsigned char *mac)
{
	uint32_t i;

	memcpy(&i, mac, sizeof(i));	/* uniform: it is a MAC */
	return &ac->slot[i & (AUTHCACHE_SLOTS - 1)];
}

int authcache_hit(struct authcache *ac, struct authcache_key *k,
    const char *address, const char *password, const char *hash,
    uint64_t now)
{
	struct authcache_slot *s;
	int hit;

	k->valid = ac->ttl != 0 && address != NULL && password != NULL &&
	    hash != NULL && compute(ac, k, address, password, hash);
	if (!k->valid)
		return 0;
	s = slot_of(ac, k->mac);
	pthread_mutex_lock(&ac->lock);
	hit = s->expires > now &&
	    CRYPTO_memcmp(s->mac, k->mac, sizeof(k->mac)) == 0;
	pthread_mutex_unlock(&ac->lock);
	return hit;
}

void authcache_add(struct authcache *ac, const struct authcache_key *k,
    uint64_t now)
{
	struct authcache_slot *s;

	if (!k->valid)
		return;
	s = slot_of(ac, k->mac);
	pthread_mutex_lock(&ac->lock);
	memcpy(s->mac, k->mac, sizeof(s->mac));
	s->expires = now + ac->ttl;
	pthread_mutex_unlock(&ac->lock);
}
