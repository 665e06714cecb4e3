/* connlimit: concurrent connections per client address and in total,
 * held across every process of a server (smtpd's workers share their
 * listeners, so any of them may get a client's next connection).
 *
 * One table in shared memory (a sealed memfd the master creates before
 * the first worker and hands down as MTA_FDS role "connlimit"; a private
 * one for pop3d, which is one process, and for manual runs).  Each worker
 * claims a slice by its pid and counts only its own connections there:
 * 4096 per-address counters and a total.  A check sums the slices in use.
 * There is one writer per slice, so a crashed worker's counts are simply
 * its slice: the master, which alone learns of the death (waitpid),
 * zeroes the slice and frees it (connlimit_reap) before the restart.
 *
 * Addresses are hashed with a keyed hash (SipHash-2-4, key random per
 * master start) into two counters each; an address's count is the
 * smaller of its two sums (count-min), so a collision can only refuse
 * early, never admit past the limit, and needs both counters to collide.
 * IPv6 clients count per /64 (one host easily has a whole /64); IPv4 per
 * address.  A connection is counted first and then checked, so two
 * workers racing for the last place may both refuse, but never both
 * admit.  Memory: 16 KiB per slice; the master sizes the table at start
 * for twice smtpd_workers plus two (a reload runs two generations for a
 * while); a worker that finds no free slice warns and counts alone. */
#ifndef LIB_CONNLIMIT_H
#define LIB_CONNLIMIT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONNLIMIT_SLOTS 4096		/* counters per slice, power of 2 */
#define CONNLIMIT_SLICES_MAX 4096
#define CONNLIMIT_LOG_PER_SEC 10	/* refusal lines per second at most */

enum connlimit_verdict {
	CONNLIMIT_OK,
	CONNLIMIT_CLIENT,		/* this address has too many */
	CONNLIMIT_TOTAL,		/* the server has too many */
};

/* One process's view of a table. */
struct connlimit {
	unsigned char *base;		/* the mapping (or private memory) */
	size_t size;
	uint32_t *hi;			/* slices [0, *hi) may be in use */
	int32_t *owner;			/* pid per slice, 0: free */
	uint32_t *total;		/* connections per slice */
	uint32_t *count;		/* [slice][slot] */
	uint32_t nslices;
	int32_t me;			/* our slice, -1 before a claim */
	uint64_t key[2];		/* copied at attach */
	int shared, mapped;
	uint64_t log_sec;		/* refusal log rate (connlimit_log_ok) */
	unsigned log_n;
	unsigned long log_dropped;
};

/* What a connection holds: where it was counted. */
struct connlimit_ticket {
	uint16_t slot[2];
	int admitted;
};

/* Bytes of a table of nslices slices (0 if nslices is out of range). */
size_t connlimit_size(unsigned nslices);
/* Lay out a table in zeroed memory of connlimit_size(nslices) bytes. */
void connlimit_format(void *mem, unsigned nslices, const uint64_t key[2]);
/* Check the layout of mem and point t at it (not claimed yet).  0 or
 * -EINVAL; t never reads a size from mem it has not checked. */
int connlimit_attach(struct connlimit *t, void *mem, size_t size);
/* Take a free slice for pid.  The slice index, or -ENOSPC. */
int connlimit_claim(struct connlimit *t, int32_t pid);
/* The process pid is gone (it may have died holding connections): zero
 * its slice and free it.  1 if it had one, else 0. */
int connlimit_reap(struct connlimit *t, int32_t pid);
/* The two counters of a client address (sa may be NULL: "unknown"). */
void connlimit_slots(const struct connlimit *t, const struct sockaddr *sa,
    uint16_t slot[2]);
/* Count a new connection from sa in our slice, then check it against
 * per_client and total (0: no limit).  Over a limit it is uncounted
 * again and the verdict says which. */
enum connlimit_verdict connlimit_enter(struct connlimit *t,
    struct connlimit_ticket *tk, const struct sockaddr *sa,
    unsigned per_client, unsigned total);
/* The connection is gone: uncount it (nothing if it was refused). */
void connlimit_leave(struct connlimit *t, struct connlimit_ticket *tk);
/* Connections counted now, all slices: from sa's address (sa may be NULL)
 * and in total (for tests and logs). */
uint64_t connlimit_client_count(const struct connlimit *t,
    const struct sockaddr *sa);
uint64_t connlimit_total_count(const struct connlimit *t);
/* 1 if a refusal at time now (s) may be logged: at most
 * CONNLIMIT_LOG_PER_SEC a second; *dropped gets the number not logged
 * since the last line that was. */
int connlimit_log_ok(struct connlimit *t, uint64_t now, unsigned long *dropped);

/* ---- connlimit_map.c: the memory behind a table ---- */

/* Master: a sealed memfd holding a new table of nslices slices, mapped
 * into t (for connlimit_reap).  The fd (close-on-exec), or -errno. */
int connlimit_create(struct connlimit *t, unsigned nslices);
/* Worker: map the table inherited as MTA_FDS role and claim a slice;
 * without such an fd (role NULL: pop3d; a manual run), or if that fails,
 * a private table of one slice.  0: shared; -ENOENT: no fd, private;
 * another -errno: the shared table failed (the caller warns), private. */
int connlimit_open(struct connlimit *t, const char *role);
/* Unmap or free t's memory. */
void connlimit_close(struct connlimit *t);
/* Log one refusal ("too many connections from [ip]") within the rate. */
void connlimit_log_refusal(struct connlimit *t, enum connlimit_verdict v,
    const char *ip, unsigned limit);
#endif
