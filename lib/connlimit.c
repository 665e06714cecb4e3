/* connlimit: the table's layout, hashing, check and count; see
 * connlimit.h.  No system calls: the memory comes from connlimit_map.c
 * (or a test).  Every shared word is read and written with atomics;
 * counting before checking needs the store to be visible before the
 * loads of the other slices, hence sequentially consistent ones. */
#include "lib/connlimit.h"
#include "lib/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define CONNLIMIT_MAGIC 0x314d494c4e4e4f43ULL	/* "CONNLIM1" */

struct connlimit_hdr {
	uint64_t magic;
	uint64_t key[2];
	uint32_t nslices;
	uint32_t hi;
};

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

static size_t owner_off(void)
{
	return 64;
}

static size_t total_off(unsigned n)
{
	return align_up(owner_off() + (size_t)n * 4, 64);
}

static size_t count_off(unsigned n)
{
	return align_up(total_off(n) + (size_t)n * 4, 4096);
}

size_t connlimit_size(unsigned nslices)
{
	if (nslices == 0 || nslices > CONNLIMIT_SLICES_MAX)
		return 0;
	return count_off(nslices) + (size_t)nslices * CONNLIMIT_SLOTS * 4;
}

void connlimit_format(void *mem, unsigned nslices, const uint64_t key[2])
{
	struct connlimit_hdr *h = mem;

	h->key[0] = key[0];
	h->key[1] = key[1];
	h->nslices = nslices;
	__atomic_store_n(&h->hi, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->magic, CONNLIMIT_MAGIC, __ATOMIC_RELEASE);
}

int connlimit_attach(struct connlimit *t, void *mem, size_t size)
{
	struct connlimit_hdr *h = mem;
	unsigned n;

	memset(t, 0, sizeof(*t));
	t->me = -1;
	if (size < sizeof(*h) ||
	    __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != CONNLIMIT_MAGIC)
		return -EINVAL;
	n = h->nslices;
	if (connlimit_size(n) == 0 || connlimit_size(n) > size)
		return -EINVAL;
	t->base = mem;
	t->size = size;
	t->nslices = n;
	t->hi = &h->hi;
	t->owner = (int32_t *)(t->base + owner_off());
	t->total = (uint32_t *)(t->base + total_off(n));
	t->count = (uint32_t *)(t->base + count_off(n));
	t->key[0] = h->key[0];
	t->key[1] = h->key[1];
	return 0;
}

/* Slices to sum: what the table says, never past what we checked. */
static uint32_t slices_used(const struct connlimit *t)
{
	uint32_t hi = __atomic_load_n(t->hi, __ATOMIC_SEQ_CST);

	return hi < t->nslices ? hi : t->nslices;
}

int connlimit_claim(struct connlimit *t, int32_t pid)
{
	for (uint32_t i = 0; i < t->nslices; i++) {
		int32_t free_ = 0;
		uint32_t hi = __atomic_load_n(t->hi, __ATOMIC_SEQ_CST);

		if (!__atomic_compare_exchange_n(&t->owner[i], &free_, pid, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		while (hi < i + 1 && !__atomic_compare_exchange_n(t->hi, &hi,
		    i + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		t->me = (int32_t)i;
		return (int)i;
	}
	return -ENOSPC;
}

int connlimit_reap(struct connlimit *t, int32_t pid)
{
	for (uint32_t i = 0; i < t->nslices; i++) {
		uint32_t *c = t->count + (size_t)i * CONNLIMIT_SLOTS;

		if (pid == 0 ||
		    __atomic_load_n(&t->owner[i], __ATOMIC_ACQUIRE) != pid)
			continue;
		for (size_t s = 0; s < CONNLIMIT_SLOTS; s++)
			__atomic_store_n(&c[s], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&t->total[i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&t->owner[i], 0, __ATOMIC_RELEASE);
		return 1;
	}
	return 0;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13) ^ v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17) ^ v[2];
	v[2] = ROTL(v[2], 32);
}

/* SipHash-2-4 of two 64-bit words (16 bytes). */
static uint64_t siphash16(const uint64_t k[2], const uint64_t m[2])
{
	uint64_t v[4] = { k[0] ^ 0x736f6d6570736575ULL,
	    k[1] ^ 0x646f72616e646f6dULL, k[0] ^ 0x6c7967656e657261ULL,
	    k[1] ^ 0x7465646279746573ULL };
	uint64_t last = (uint64_t)16 << 56;

	for (int i = 0; i < 3; i++) {
		uint64_t w = i < 2 ? m[i] : last;

		v[3] ^= w;
		sipround(v);
		sipround(v);
		v[0] ^= w;
	}
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* What is counted: an IPv4 address (also IPv4-mapped IPv6), an IPv6
 * /64, or "unknown", as 16 bytes. */
static void addr_key(const struct sockaddr *sa, unsigned char b[16])
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(b, 0xff, 16);
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(b, mapped, sizeof(mapped));
		memcpy(b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(b, &s6->sin6_addr, 16);
		if (memcmp(b, mapped, sizeof(mapped)) != 0)
			memset(b + 8, 0, 8);
	}
}

void connlimit_slots(const struct connlimit *t, const struct sockaddr *sa,
    uint16_t slot[2])
{
	unsigned char b[16];
	uint64_t m[2], h;

	addr_key(sa, b);
	memcpy(m, b, sizeof(m));
	h = siphash16(t->key, m);
	slot[0] = (uint16_t)(h & (CONNLIMIT_SLOTS - 1));
	slot[1] = (uint16_t)((h >> 32) & (CONNLIMIT_SLOTS - 1));
	if (slot[1] == slot[0])
		slot[1] = (uint16_t)((slot[0] + 1) & (CONNLIMIT_SLOTS - 1));
}

static uint64_t slot_sum(const struct connlimit *t, uint16_t slot)
{
	uint32_t n = slices_used(t);
	uint64_t sum = 0;

	for (uint32_t i = 0; i < n; i++)
		sum += __atomic_load_n(&t->count[(size_t)i * CONNLIMIT_SLOTS +
		    slot], __ATOMIC_SEQ_CST);
	return sum;
}

static uint64_t client_sum(const struct connlimit *t, const uint16_t slot[2])
{
	uint64_t a = slot_sum(t, slot[0]), b = slot_sum(t, slot[1]);

	return a < b ? a : b;
}

uint64_t connlimit_total_count(const struct connlimit *t)
{
	uint32_t n = slices_used(t);
	uint64_t sum = 0;

	for (uint32_t i = 0; i < n; i++)
		sum += __atomic_load_n(&t->total[i], __ATOMIC_SEQ_CST);
	return sum;
}

uint64_t connlimit_client_count(const struct connlimit *t,
    const struct sockaddr *sa)
{
	uint16_t slot[2];

	connlimit_slots(t, sa, slot);
	return client_sum(t, slot);
}

/* Add d (+1 or -1) to the ticket's counters in our slice. */
static void count_add(struct connlimit *t, const struct connlimit_ticket *tk,
    uint32_t d)
{
	uint32_t *mine = t->count + (size_t)t->me * CONNLIMIT_SLOTS;

	__atomic_fetch_add(&mine[tk->slot[0]], d, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&mine[tk->slot[1]], d, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&t->total[t->me], d, __ATOMIC_SEQ_CST);
}

enum connlimit_verdict connlimit_enter(struct connlimit *t,
    struct connlimit_ticket *tk, const struct sockaddr *sa,
    unsigned per_client, unsigned total)
{
	enum connlimit_verdict v = CONNLIMIT_OK;

	if (t->me < 0)
		panic("connlimit: no slice claimed");
	connlimit_slots(t, sa, tk->slot);
	count_add(t, tk, 1);
	if (per_client != 0 && client_sum(t, tk->slot) > per_client)
		v = CONNLIMIT_CLIENT;
	else if (total != 0 && connlimit_total_count(t) > total)
		v = CONNLIMIT_TOTAL;
	if (v != CONNLIMIT_OK)
		count_add(t, tk, (uint32_t)-1);
	tk->admitted = v == CONNLIMIT_OK;
	return v;
}

void connlimit_leave(struct connlimit *t, struct connlimit_ticket *tk)
{
	if (!tk->admitted)
		return;
	tk->admitted = 0;
	count_add(t, tk, (uint32_t)-1);
}

int connlimit_log_ok(struct connlimit *t, uint64_t now, unsigned long *dropped)
{
	if (now != t->log_sec) {
		t->log_sec = now;
		t->log_n = 0;
	}
	if (t->log_n >= CONNLIMIT_LOG_PER_SEC) {
		t->log_dropped++;
		return 0;
	}
	t->log_n++;
	*dropped = t->log_dropped;
	t->log_dropped = 0;
	return 1;
}
