/* Unit tests for lib/connlimit, the connection counts smtpd's workers
 * share: per-address and total limits, several workers' slices on one
 * table (as two mappings of the master's memfd), a dead worker's slice
 * freed by the master, IPv6 per /64, the bounded layout, the log rate. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/connlimit.h"

static const uint64_t key[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	cr_assert_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin6_family = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* A table of n slices in zeroed memory, seen by one process. */
static void *table(unsigned n, struct connlimit *t)
{
	size_t size = connlimit_size(n);
	void *mem = calloc(1, size);

	cr_assert_not_null(mem);
	connlimit_format(mem, n, key);
	cr_assert_eq(connlimit_attach(t, mem, size), 0);
	return mem;
}

Test(connlimit, per_address_limit_admits_up_to_it_and_not_one_more)
{
	struct connlimit t;
	struct connlimit_ticket tk[4], extra;
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
	void *mem = table(1, &t);

	cr_assert_eq(connlimit_claim(&t, 100), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(connlimit_enter(&t, &tk[i], SA(a), 3, 100),
		    CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&t, &extra, SA(a), 3, 100),
	    CONNLIMIT_CLIENT);
	cr_assert_not(extra.admitted);
	cr_assert_eq(connlimit_client_count(&t, SA(a)), 3,
	    "a refusal is not counted");
	cr_assert_eq(connlimit_enter(&t, &tk[3], SA(b), 3, 100), CONNLIMIT_OK,
	    "another address has its own count");
	connlimit_leave(&t, &extra);		/* refused: nothing to undo */
	cr_assert_eq(connlimit_client_count(&t, SA(a)), 3);
	connlimit_leave(&t, &tk[0]);
	connlimit_leave(&t, &tk[0]);		/* twice: once only */
	cr_assert_eq(connlimit_client_count(&t, SA(a)), 2);
	cr_assert_eq(connlimit_enter(&t, &tk[0], SA(a), 3, 100), CONNLIMIT_OK,
	    "a place freed is a place again");
	cr_assert_eq(connlimit_total_count(&t), 4);
	free(mem);
}

Test(connlimit, total_limit_counts_every_address)
{
	struct connlimit t;
	struct connlimit_ticket tk[5];
	struct sockaddr_storage a;
	char ip[32];
	void *mem = table(1, &t);

	connlimit_claim(&t, 100);
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		a = v4(ip);
		cr_assert_eq(connlimit_enter(&t, &tk[i], SA(a), 10, 4),
		    CONNLIMIT_OK);
	}
	a = v4("203.0.113.9");
	cr_assert_eq(connlimit_enter(&t, &tk[4], SA(a), 10, 4),
	    CONNLIMIT_TOTAL);
	cr_assert_eq(connlimit_total_count(&t), 4);
	connlimit_leave(&t, &tk[2]);
	cr_assert_eq(connlimit_enter(&t, &tk[4], SA(a), 10, 4), CONNLIMIT_OK);
	free(mem);
}

Test(connlimit, zero_means_no_limit)
{
	struct connlimit t;
	struct connlimit_ticket tk;
	struct sockaddr_storage a = v4("192.0.2.1");
	void *mem = table(1, &t);

	connlimit_claim(&t, 1);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(connlimit_enter(&t, &tk, SA(a), 0, 0),
		    CONNLIMIT_OK);
	cr_assert_eq(connlimit_client_count(&t, SA(a)), 1000);
	free(mem);
}

Test(connlimit, per_address_wins_when_both_are_exceeded)
{
	struct connlimit t;
	struct connlimit_ticket tk;
	struct sockaddr_storage a = v4("192.0.2.1");
	void *mem = table(1, &t);

	connlimit_claim(&t, 1);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(a), 1, 1), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(a), 1, 1), CONNLIMIT_CLIENT);
	free(mem);
}

/* Two workers are two views of the same memory, as two mappings of the
 * master's memfd are; each counts in its own slice. */
Test(connlimit, limits_hold_across_workers)
{
	struct connlimit w1, w2, master;
	struct connlimit_ticket tk[4];
	struct sockaddr_storage a = v4("192.0.2.7");
	void *mem = table(4, &master);

	cr_assert_eq(connlimit_attach(&w1, mem, connlimit_size(4)), 0);
	cr_assert_eq(connlimit_attach(&w2, mem, connlimit_size(4)), 0);
	cr_assert_eq(connlimit_claim(&w1, 101), 0);
	cr_assert_eq(connlimit_claim(&w2, 102), 1);
	cr_assert_eq(connlimit_enter(&w1, &tk[0], SA(a), 3, 5), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&w2, &tk[1], SA(a), 3, 5), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&w1, &tk[2], SA(a), 3, 5), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&w2, &tk[3], SA(a), 3, 5),
	    CONNLIMIT_CLIENT, "the third in w1 and w2 together is the limit");
	cr_assert_eq(connlimit_client_count(&master, SA(a)), 3);
	connlimit_leave(&w1, &tk[0]);
	cr_assert_eq(connlimit_enter(&w2, &tk[3], SA(a), 3, 5), CONNLIMIT_OK,
	    "w1 freed a place, w2 may use it");
	free(mem);
}

Test(connlimit, a_dead_workers_counts_are_freed_by_reap)
{
	struct connlimit w1, w2, master, w3;
	struct connlimit_ticket tk[3];
	struct sockaddr_storage a = v4("192.0.2.7");
	size_t size = connlimit_size(2);
	void *mem = table(2, &master);

	connlimit_attach(&w1, mem, size);
	connlimit_attach(&w2, mem, size);
	connlimit_attach(&w3, mem, size);
	cr_assert_eq(connlimit_claim(&w1, 101), 0);
	cr_assert_eq(connlimit_claim(&w2, 102), 1);
	cr_assert_eq(connlimit_claim(&w3, 103), -ENOSPC, "all slices taken");
	connlimit_enter(&w1, &tk[0], SA(a), 2, 0);
	connlimit_enter(&w1, &tk[1], SA(a), 2, 0);
	cr_assert_eq(connlimit_enter(&w2, &tk[2], SA(a), 2, 0),
	    CONNLIMIT_CLIENT);
	/* w1 is killed; its connections went with it. */
	cr_assert_eq(connlimit_reap(&master, 999), 0, "not a worker");
	cr_assert_eq(connlimit_reap(&master, 101), 1);
	cr_assert_eq(connlimit_client_count(&master, SA(a)), 0);
	cr_assert_eq(connlimit_total_count(&master), 0);
	cr_assert_eq(connlimit_enter(&w2, &tk[2], SA(a), 2, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_claim(&w3, 103), 0,
	    "the restarted worker gets the freed slice");
	cr_assert_eq(connlimit_enter(&w3, &tk[0], SA(a), 2, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&w3, &tk[1], SA(a), 2, 0),
	    CONNLIMIT_CLIENT);
	free(mem);
}

Test(connlimit, shared_mapping_between_processes)
{
	struct connlimit master, w;
	struct connlimit_ticket tk;
	struct sockaddr_storage a = v4("192.0.2.9");
	int fd = connlimit_create(&master, 3), status;
	pid_t pid;

	cr_assert_geq(fd, 0);
	pid = fork();
	if (pid == 0) {
		/* The worker: as inherited, counted in shared memory. */
		void *p = mmap(NULL, connlimit_size(3), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);

		if (p == MAP_FAILED || connlimit_attach(&w, p,
		    connlimit_size(3)) < 0 || connlimit_claim(&w, getpid()) < 0)
			_exit(1);
		connlimit_enter(&w, &tk, SA(a), 5, 0);
		_exit(ftruncate(fd, 4096) == 0 ? 2 : 0);	/* sealed */
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %d", status);
	cr_assert_eq(connlimit_client_count(&master, SA(a)), 1,
	    "the child's count is seen by the master");
	cr_assert_eq(connlimit_reap(&master, pid), 1);
	cr_assert_eq(connlimit_client_count(&master, SA(a)), 0);
	connlimit_close(&master);
	close(fd);
}

Test(connlimit, ipv6_counts_per_64_and_mapped_ipv4_as_ipv4)
{
	struct connlimit t;
	struct connlimit_ticket tk;
	struct sockaddr_storage a = v6("2001:db8:1:2::1"),
	    b = v6("2001:db8:1:2:ffff:1234:5678:9abc"),
	    c = v6("2001:db8:1:3::1"), m = v6("::ffff:192.0.2.1"),
	    four = v4("192.0.2.1");
	void *mem = table(1, &t);

	connlimit_claim(&t, 1);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(a), 1, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(b), 1, 0), CONNLIMIT_CLIENT,
	    "same /64");
	cr_assert_eq(connlimit_enter(&t, &tk, SA(c), 1, 0), CONNLIMIT_OK,
	    "another /64");
	cr_assert_eq(connlimit_enter(&t, &tk, SA(m), 1, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(four), 1, 0),
	    CONNLIMIT_CLIENT, "IPv4-mapped is the IPv4 address");
	free(mem);
}

Test(connlimit, unknown_peer_is_one_address)
{
	struct connlimit t;
	struct connlimit_ticket tk;
	void *mem = table(1, &t);

	connlimit_claim(&t, 1);
	cr_assert_eq(connlimit_enter(&t, &tk, NULL, 1, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&t, &tk, NULL, 1, 0), CONNLIMIT_CLIENT);
	free(mem);
}

Test(connlimit, two_distinct_slots_per_address_and_keyed)
{
	struct connlimit t, other;
	uint64_t key2[2] = { 1, 2 };
	uint16_t s[2], s2[2];
	int moved = 0;
	size_t size = connlimit_size(1);
	void *mem = table(1, &t), *mem2 = calloc(1, size);
	char ip[32];

	connlimit_format(mem2, 1, key2);
	connlimit_attach(&other, mem2, size);
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage a;

		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 16, i % 16);
		a = v4(ip);
		connlimit_slots(&t, SA(a), s);
		cr_assert_neq(s[0], s[1]);
		cr_assert_lt(s[0], CONNLIMIT_SLOTS);
		cr_assert_lt(s[1], CONNLIMIT_SLOTS);
		connlimit_slots(&other, SA(a), s2);
		moved += s[0] != s2[0];
	}
	cr_assert_gt(moved, 200, "another key, other slots");
	free(mem);
	free(mem2);
}

/* Count-min: an address is refused only if both its counters are full,
 * so filling one of its slots through other addresses does not block it. */
Test(connlimit, one_colliding_counter_does_not_refuse)
{
	struct connlimit t;
	struct connlimit_ticket tk;
	struct sockaddr_storage a = v4("192.0.2.1"), o;
	uint16_t sa[2], so[2];
	char ip[32];
	int found = 0;
	void *mem = table(1, &t);

	connlimit_claim(&t, 1);
	connlimit_slots(&t, SA(a), sa);
	for (int i = 0; i < 65536 && !found; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		o = v4(ip);
		connlimit_slots(&t, SA(o), so);
		found = (so[0] == sa[0] || so[1] == sa[0]) &&
		    so[0] != sa[1] && so[1] != sa[1];
	}
	cr_assert(found, "no address shares one counter in 65536");
	for (int i = 0; i < 5; i++)
		cr_assert_eq(connlimit_enter(&t, &tk, SA(o), 5, 0),
		    CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(a), 5, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_client_count(&t, SA(a)), 1);
	free(mem);
}

Test(connlimit, attach_refuses_what_it_cannot_trust)
{
	struct connlimit t;
	size_t size = connlimit_size(2);
	unsigned char *mem = calloc(1, size);

	cr_assert_eq(connlimit_size(0), 0);
	cr_assert_eq(connlimit_size(CONNLIMIT_SLICES_MAX + 1), 0);
	cr_assert_eq(connlimit_attach(&t, mem, size), -EINVAL, "no magic");
	connlimit_format(mem, 2, key);
	cr_assert_eq(connlimit_attach(&t, mem, size - 1), -EINVAL,
	    "smaller than its slices");
	connlimit_format(mem, CONNLIMIT_SLICES_MAX + 1, key);
	cr_assert_eq(connlimit_attach(&t, mem, size), -EINVAL);
	cr_assert_eq(connlimit_attach(&t, mem, 8), -EINVAL);
	free(mem);
}

Test(connlimit, refusal_log_is_rate_limited)
{
	struct connlimit t;
	unsigned long dropped = 99;
	int logged = 0;

	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 1000; i++)
		logged += connlimit_log_ok(&t, 50, &dropped);
	cr_assert_eq(logged, CONNLIMIT_LOG_PER_SEC);
	cr_assert_eq(dropped, 0);
	cr_assert(connlimit_log_ok(&t, 51, &dropped));
	cr_assert_eq(dropped, 1000 - CONNLIMIT_LOG_PER_SEC,
	    "the next line says how many were not logged");
	cr_assert(connlimit_log_ok(&t, 51, &dropped));
	cr_assert_eq(dropped, 0);
}

Test(connlimit, private_table_without_an_inherited_fd)
{
	struct connlimit t;
	struct connlimit_ticket tk;
	struct sockaddr_storage a = v4("192.0.2.1");

	unsetenv("MTA_FDS");
	cr_assert_eq(connlimit_open(&t, "connlimit"), -ENOENT);
	cr_assert_not(t.shared);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(a), 1, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_enter(&t, &tk, SA(a), 1, 0), CONNLIMIT_CLIENT);
	connlimit_close(&t);
	cr_assert_eq(connlimit_open(&t, NULL), -ENOENT);
	connlimit_close(&t);
}

Test(connlimit, inherited_fd_is_shared)
{
	struct connlimit master, w;
	struct connlimit_ticket tk;
	struct sockaddr_storage a = v4("192.0.2.1");
	char env[64];
	int fd = connlimit_create(&master, 2);

	cr_assert_geq(fd, 0);
	snprintf(env, sizeof(env), "tls:9,connlimit:%d", fd);
	setenv("MTA_FDS", env, 1);
	cr_assert_eq(connlimit_open(&w, "connlimit"), 0);
	cr_assert(w.shared);
	cr_assert_eq(connlimit_enter(&w, &tk, SA(a), 3, 0), CONNLIMIT_OK);
	cr_assert_eq(connlimit_client_count(&master, SA(a)), 1);
	cr_assert_eq(connlimit_reap(&master, getpid()), 1);
	connlimit_close(&w);
	connlimit_close(&master);
	unsetenv("MTA_FDS");
}
