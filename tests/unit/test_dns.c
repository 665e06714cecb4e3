/* Unit tests for lib/dns.c: MX ordering and null-MX detection as pure
 * functions, literal addresses, and real resolution on an io_uring loop
 * against a dnsmasq started per test on a free loopback port (MX order,
 * shuffles, fallbacks, null MX, NXDOMAIN, partial and total temporary
 * failures, bounds, a dead, a silent and a hostile server, many queries
 * in flight, and closing the resolver with queries in flight). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/dns.h"
#include "lib/ev.h"
#include "lib/mem.h"

#define DNSMASQ "/usr/sbin/dnsmasq"

/* ---- pure helpers ---- */

static struct dns_mx mx_of(const char *host, unsigned pref)
{
	struct dns_mx m;

	memset(&m, 0, sizeof(m));
	snprintf(m.host, sizeof(m.host), "%s", host);
	m.pref = pref;
	return m;
}

/* The hosts' first letters in order: "zab..." */
static const char *order(const struct dns_mx *m, size_t n)
{
	static char out[16];
	size_t i;

	for (i = 0; i < n && i < sizeof(out) - 1; i++)
		out[i] = m[i].host[0];
	out[i] = '\0';
	return out;
}

static unsigned rnd_zero(void)
{
	return 0;
}

static unsigned rnd_big(void)
{
	return 1000003;	/* odd: k % 2 == 1 keeps a pair in place */
}

Test(dns, mx_order_sorts_by_preference)
{
	struct dns_mx m[5] = { mx_of("c", 30), mx_of("a", 10), mx_of("z", 0),
	    mx_of("b", 20), mx_of("d", 65535) };

	dns_mx_order(m, 5, NULL);
	cr_assert_str_eq(order(m, 5), "zabcd");
	dns_mx_order(m, 0, rnd_zero);	/* empty is fine */
}

Test(dns, mx_order_shuffles_only_among_equal_preferences)
{
	struct dns_mx m[4] = { mx_of("x", 20), mx_of("a", 10),
	    mx_of("y", 20), mx_of("b", 10) };

	dns_mx_order(m, 4, rnd_zero);	/* every swap taken */
	cr_assert_str_eq(order(m, 4), "bayx");
	dns_mx_order(m, 4, rnd_big);	/* no swap */
	cr_assert_str_eq(order(m, 4), "bayx");
	dns_mx_order(m, 4, rnd_zero);
	cr_assert_str_eq(order(m, 4), "abxy");
}

static unsigned lcg_state;
static unsigned rnd_lcg(void)
{
	lcg_state = lcg_state * 1103515245u + 12345u;
	return lcg_state >> 16;
}

Test(dns, mx_order_shuffle_reaches_every_permutation)
{
	int seen[6] = { 0 };
	unsigned i;

	for (i = 0; i < 600; i++) {
		struct dns_mx m[3] = { mx_of("a", 5), mx_of("b", 5),
		    mx_of("c", 5) };
		int p;

		dns_mx_order(m, 3, rnd_lcg);
		p = (m[0].host[0] - 'a') * 2 + (m[1].host[0] > m[2].host[0]);
		cr_assert(p >= 0 && p < 6);
		seen[p]++;
	}
	for (i = 0; i < 6; i++)
		cr_assert_gt(seen[i], 50, "permutation %u seen %d times", i,
		    seen[i]);
}

Test(dns, null_mx_is_a_single_root_target)
{
	struct dns_mx root = mx_of("", 0), dot = mx_of(".", 0);
	struct dns_mx two[2] = { mx_of(".", 0), mx_of("mx.example", 10) };
	struct dns_mx real = mx_of("mx.example", 0);

	cr_assert_eq(dns_mx_is_null(&root, 1), 1);
	cr_assert_eq(dns_mx_is_null(&dot, 1), 1);
	cr_assert_eq(dns_mx_is_null(two, 2), 0);
	cr_assert_eq(dns_mx_is_null(&real, 1), 0);
	cr_assert_eq(dns_mx_is_null(&root, 0), 0);
}

/* ---- the loop ---- */

static struct ev_loop loop;
static struct {
	struct ev_op op;
	struct __kernel_timespec ts;
	int inflight;
} guard;
static unsigned n_done, n_want;

static void guard_cb(struct ev_op *op, int res, unsigned flags)
{
	guard.inflight = 0;
	ev_stop(&loop);
}

/* Run the loop until n_done reaches n_want or ms pass. */
static void run_for(unsigned ms)
{
	if (n_want > 0 && n_done >= n_want)
		return;
	guard.op.fn = guard_cb;
	guard.inflight = 1;
	ev_timeout(&loop, &guard.op, &guard.ts, ms);
	loop.stopping = 0;
	cr_assert_eq(ev_run(&loop), 0);
	if (guard.inflight) {
		ev_cancel_op(&loop, &guard.op);
		loop.stopping = 0;
		cr_assert_eq(ev_run(&loop), 0);	/* until guard_cb */
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct slot {
	int calls;
	struct dns_result res;
};

static void slot_done(void *arg, const struct dns_result *res)
{
	struct slot *s = arg;

	s->calls++;
	s->res = *res;
	n_done++;
	if (n_want > 0 && n_done >= n_want)
		ev_stop(&loop);
}

/* Resolve one name to completion. */
static void resolve(struct dns_resolver *r, const char *name, int mx,
    struct slot *s)
{
	memset(s, 0, sizeof(*s));
	n_done = 0;
	n_want = 1;
	dns_resolve(r, name, 25, mx, slot_done, s);
	run_for(5000);
	cr_assert_eq(s->calls, 1, "%s: done ran %d times", name, s->calls);
}

/* Resolve name into *s, expecting status st and n targets. */
static void check(struct dns_resolver *r, const char *name, int mx,
    enum dns_status st, size_t n, struct slot *s)
{
	resolve(r, name, mx, s);
	cr_assert_eq(s->res.status, st, "%s: status %d: %s", name,
	    s->res.status, s->res.text);
	cr_assert_eq(s->res.n, n, "%s: %zu targets", name, s->res.n);
}

static const char *addr_str(const struct dns_target *t, char *buf,
    size_t len)
{
	const struct sockaddr_in *sin = (const void *)&t->addr;
	const struct sockaddr_in6 *sin6 = (const void *)&t->addr;

	if (t->addr.ss_family == AF_INET) {
		cr_assert_eq(t->addrlen, sizeof(*sin));
		cr_assert_eq(ntohs(sin->sin_port), 25);
		return inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
	}
	cr_assert_eq(t->addr.ss_family, AF_INET6);
	cr_assert_eq(t->addrlen, sizeof(*sin6));
	cr_assert_eq(ntohs(sin6->sin6_port), 25);
	return inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)len);
}

static void expect_target(const struct dns_result *res, size_t i,
    const char *host, unsigned pref, const char *addr)
{
	char buf[INET6_ADDRSTRLEN];

	cr_assert_gt(res->n, i);
	cr_assert_str_eq(res->t[i].host, host);
	cr_assert_eq(res->t[i].pref, pref, "target %zu pref %u", i,
	    res->t[i].pref);
	cr_assert_str_eq(addr_str(&res->t[i], buf, sizeof(buf)), addr);
}

/* ---- a dnsmasq on a free port ---- */

static unsigned dnsmasq_port;
static char servers[64];

static struct sockaddr_in loopback(unsigned port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int bound_socket(int type, unsigned port)
{
	struct sockaddr_in sin = loopback(port);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A loopback port free for both TCP and UDP right now (dnsmasq binds
 * both); the UDP socket stays bound in *keep when keep is not NULL. */
static unsigned free_port(int *keep)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int i;

	for (i = 0; i < 100; i++) {
		int tfd = bound_socket(SOCK_STREAM, 0), ufd;

		cr_assert_geq(tfd, 0);
		cr_assert_eq(getsockname(tfd, (struct sockaddr *)&sin, &len),
		    0);
		ufd = bound_socket(SOCK_DGRAM, ntohs(sin.sin_port));
		close(tfd);
		if (ufd < 0)
			continue;
		if (keep != NULL)
			*keep = ufd;
		else
			close(ufd);
		return ntohs(sin.sin_port);
	}
	cr_assert_fail("no free loopback port");
	return 0;
}

static const char *dnsmasq_args[] = {
	"--keep-in-foreground", "--listen-address=127.0.0.1",
	"--bind-interfaces", "--no-resolv", "--no-hosts",
	"--conf-file=/dev/null", "--pid-file=", "--local=/test/",
	"--mx-host=pref.test,mx20.pref.test,20",
	"--mx-host=pref.test,mx10.pref.test,10",
	"--mx-host=pref.test,mx30.pref.test,30",
	"--host-record=mx10.pref.test,127.0.0.10",
	"--host-record=mx20.pref.test,127.0.0.20",
	"--host-record=mx30.pref.test,127.0.0.30",
	"--mx-host=equal.test,a.equal.test,10",
	"--mx-host=equal.test,b.equal.test,10",
	"--host-record=a.equal.test,127.0.1.1",
	"--host-record=b.equal.test,127.0.1.2",
	"--host-record=nomx.test,127.0.2.1,::2",
	"--mx-host=dual.test,mx.dual.test,5",
	"--host-record=mx.dual.test,127.0.3.1,::3",
	"--dns-rr=nullmx.test,15,000000",
	"--dns-rr=mixnull.test,15,000000",
	"--mx-host=mixnull.test,mx.dual.test,10",
	"--mx-host=noaddr.test,ghost.noaddr.test,10",
	"--mx-host=partial.test,mx.refused.example,10",
	"--mx-host=partial.test,ok.partial.test,20",
	"--host-record=ok.partial.test,127.0.4.1",
	"--mx-host=tempfail.test,mx.refused.example,10",
	"--txt-record=txtonly.test,hello",
};

/* dnsmasq drops to user nobody, which clears PR_SET_PDEATHSIG, so a keeper
 * shell runs it instead: it kills dnsmasq when its stdin (a pipe whose only
 * writer is this test process) reaches EOF -- at fini, or when the test
 * crashes -- and exits when dnsmasq does (port taken: the caller retries). */
static const char keeper[] =
    "exec 3<&0; \"$@\" </dev/null & p=$!; "
    "{ read x <&3; kill $p 2>/dev/null; } & r=$!; "
    "wait $p; s=$?; kill $r 2>/dev/null; exit $s";

static void dnsmasq_exec(unsigned port, int quiet, int rd)
{
	char *argv[256];
	char portarg[32], buf[64];
	size_t n = 0, i;

	snprintf(portarg, sizeof(portarg), "--port=%u", port);
	argv[n++] = (char *)"/bin/sh";
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)keeper;
	argv[n++] = (char *)"sh";
	argv[n++] = (char *)DNSMASQ;
	argv[n++] = portarg;
	for (i = 0; i < ARRAY_LEN(dnsmasq_args); i++)
		argv[n++] = (char *)dnsmasq_args[i];
	/* big.test: 20 MX hosts; many.test: 12 addresses; huge.test: 88,
	 * too many for UDP, so c-ares goes TCP. */
	for (i = 1; i <= 100; i++) {
		if (i <= 20) {
			snprintf(buf, sizeof(buf), "--mx-host=big.test,"
			    "h%02zu.big.test,%zu", i, i);
			argv[n++] = xstrdup(buf);
			snprintf(buf, sizeof(buf), "--host-record=h%02zu.big."
			    "test,127.0.6.%zu", i, i);
			argv[n++] = xstrdup(buf);
		}
		snprintf(buf, sizeof(buf), "--host-record=%s.test,127.0.%d.%zu",
		    i <= 12 ? "many" : "huge", i <= 12 ? 7 : 8, i);
		argv[n++] = xstrdup(buf);
	}
	argv[n] = NULL;
	if (quiet) {	/* "address in use" before a retry is no news */
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
	}
	dup2(rd, 0);
	execv(argv[0], argv);
	_exit(127);
}

/* 1 when a DNS server answers on 127.0.0.1:port. */
static int dns_answers(unsigned port)
{
	static const unsigned char query[] = { 0x12, 0x34, 0x01, 0x00, 0, 1,
	    0, 0, 0, 0, 0, 0, 5, 'r', 'e', 'a', 'd', 'y', 4, 't', 'e', 's',
	    't', 0, 0, 1, 0, 1 };
	struct sockaddr_in sin = loopback(port);
	struct pollfd pfd;
	unsigned char ans[512];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ok = 0;

	if (sendto(fd, query, sizeof(query), 0, (struct sockaddr *)&sin,
	    sizeof(sin)) == (ssize_t)sizeof(query)) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) == 1 &&
		    recv(fd, ans, sizeof(ans), 0) > 2)
			ok = ans[0] == 0x12 && ans[1] == 0x34;
	}
	close(fd);
	return ok;
}

static pid_t dnsmasq_pid;	/* the keeper */
static int dnsmasq_wr = -1;

static void dnsmasq_up(void)
{
	int attempt, i, st, pfd[2];

	if (access(DNSMASQ, X_OK) != 0)
		cr_assert_fail(DNSMASQ " is missing: these tests need a real "
		    "DNS server; install dnsmasq-base (scripts/deps does)");
	for (attempt = 0; attempt < 5; attempt++) {
		dnsmasq_port = free_port(NULL);
		cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
		dnsmasq_pid = fork();
		cr_assert_geq(dnsmasq_pid, 0);
		if (dnsmasq_pid == 0)
			dnsmasq_exec(dnsmasq_port, attempt < 4, pfd[0]);
		close(pfd[0]);
		dnsmasq_wr = pfd[1];
		for (i = 0; i < 100; i++) {
			if (waitpid(dnsmasq_pid, &st, WNOHANG) == dnsmasq_pid)
				break;	/* port taken after all: retry */
			if (dns_answers(dnsmasq_port)) {
				snprintf(servers, sizeof(servers),
				    "127.0.0.1:%u", dnsmasq_port);
				cr_assert_eq(ev_init(&loop, 256), 0);
				return;
			}
			usleep(20000);
		}
		close(dnsmasq_wr);	/* the keeper kills dnsmasq */
		if (i == 100)
			waitpid(dnsmasq_pid, &st, 0);
	}
	dnsmasq_pid = 0;
	cr_assert_fail("dnsmasq did not start (" DNSMASQ ")");
}

static void dnsmasq_down(void)
{
	int st;

	ev_exit(&loop);
	if (dnsmasq_pid > 0) {
		close(dnsmasq_wr);
		waitpid(dnsmasq_pid, &st, 0);
	}
}

static void loop_up(void)
{
	cr_assert_eq(ev_init(&loop, 256), 0);
}

static void loop_down(void)
{
	ev_exit(&loop);
}

static struct dns_resolver *open_dnsmasq(void)
{
	struct dns_resolver *r = dns_open(&loop, servers, 1000);

	cr_assert_not_null(r, "dns_open: %s", strerror(errno));
	return r;
}

/* Close r and let its cancelled ops complete. */
static void close_and_drain(struct dns_resolver *r)
{
	dns_close(r);
	n_want = 0;
	run_for(50);
}

/* ---- resolution against dnsmasq ---- */

TestSuite(dns_live, .init = dnsmasq_up, .fini = dnsmasq_down);

Test(dns_live, mx_hosts_come_in_preference_order)
{
	char srv[64];
	struct dns_resolver *r;
	struct slot s;

	snprintf(srv, sizeof(srv), "[127.0.0.1]:%u", dnsmasq_port);
	r = dns_open(&loop, srv, 1000);		/* the config's form */
	cr_assert_not_null(r);

	check(r, "pref.test", 1, DNS_OK, 3, &s);
	expect_target(&s.res, 0, "mx10.pref.test", 10, "127.0.0.10");
	expect_target(&s.res, 1, "mx20.pref.test", 20, "127.0.0.20");
	expect_target(&s.res, 2, "mx30.pref.test", 30, "127.0.0.30");
	close_and_drain(r);
}

Test(dns_live, equal_preferences_come_in_both_orders)
{
	struct dns_resolver *r = open_dnsmasq();
	int first_a = 0, i;
	struct slot s;

	for (i = 0; i < 40; i++) {
		check(r, "equal.test", 1, DNS_OK, 2, &s);
		cr_assert(s.res.t[0].pref == 10 && s.res.t[1].pref == 10);
		first_a += strcmp(s.res.t[0].host, "a.equal.test") == 0;
	}
	cr_assert(first_a > 0 && first_a < 40, "a first %d of 40", first_a);
	close_and_drain(r);
}

Test(dns_live, aaaa_then_a_for_mx_hosts_and_the_no_mx_fallback)
{
	struct dns_resolver *r = open_dnsmasq();
	struct slot s;

	check(r, "nomx.test", 1, DNS_OK, 2, &s);	/* implicit MX */
	expect_target(&s.res, 0, "nomx.test", 0, "::2");
	expect_target(&s.res, 1, "nomx.test", 0, "127.0.2.1");
	check(r, "dual.test", 1, DNS_OK, 2, &s);
	expect_target(&s.res, 0, "mx.dual.test", 5, "::3");
	expect_target(&s.res, 1, "mx.dual.test", 5, "127.0.3.1");
	close_and_drain(r);
}

Test(dns_live, null_mx_is_reported)
{
	struct dns_resolver *r = open_dnsmasq();
	struct slot s;

	check(r, "nullmx.test", 1, DNS_NULLMX, 0, &s);
	cr_assert_str_eq(s.res.text,
	    "Domain nullmx.test does not accept mail (nullMX)");
	/* A root MX among real ones is skipped, not a null MX. */
	check(r, "mixnull.test", 1, DNS_OK, 2, &s);
	expect_target(&s.res, 0, "mx.dual.test", 10, "::3");
	close_and_drain(r);
}

Test(dns_live, nxdomain_or_no_address_anywhere_is_not_found)
{
	struct dns_resolver *r = open_dnsmasq();
	struct slot s;

	check(r, "nx.test", 1, DNS_NOTFOUND, 0, &s);
	cr_assert_str_eq(s.res.text, "Host or domain name not found. Name "
	    "service error for name=nx.test type=MX: Host not found");
	check(r, "noaddr.test", 1, DNS_NOTFOUND, 0, &s); /* MX host NX */
	cr_assert(strstr(s.res.text, "name=ghost.noaddr.test type=A") != NULL,
	    "%s", s.res.text);
	check(r, "txtonly.test", 1, DNS_NOTFOUND, 0, &s); /* no MX, A, AAAA */
	cr_assert(strstr(s.res.text, "name=txtonly.test") != NULL, "%s",
	    s.res.text);
	close_and_drain(r);
}

Test(dns_live, temporary_failures_defer_unless_some_host_resolved)
{
	struct dns_resolver *r = open_dnsmasq();
	struct slot s;

	/* dnsmasq REFUSEs names outside its zones. */
	check(r, "partial.test", 1, DNS_OK, 1, &s);
	expect_target(&s.res, 0, "ok.partial.test", 20, "127.0.4.1");
	check(r, "tempfail.test", 1, DNS_TEMPFAIL, 0, &s);
	cr_assert(strstr(s.res.text, "name=mx.refused.example") != NULL,
	    "%s", s.res.text);
	check(r, "elsewhere.example", 1, DNS_TEMPFAIL, 0, &s);
	cr_assert(strstr(s.res.text, "try again") != NULL, "%s", s.res.text);
	close_and_drain(r);
}

Test(dns_live, without_mx_lookup_only_the_name_counts)
{
	struct dns_resolver *r = open_dnsmasq();
	struct slot s;

	check(r, "nomx.test", 0, DNS_OK, 2, &s);
	check(r, "pref.test", 0, DNS_NOTFOUND, 0, &s); /* MX, no address */
	check(r, "[pref.test]", 1, DNS_NOTFOUND, 0, &s); /* brackets: no MX */
	check(r, "[mx10.pref.test]", 1, DNS_OK, 1, &s);
	expect_target(&s.res, 0, "mx10.pref.test", 0, "127.0.0.10");
	close_and_drain(r);
}

Test(dns_live, mx_records_and_addresses_are_bounded)
{
	struct dns_resolver *r = open_dnsmasq();
	char host[32], want[32];
	struct slot s;
	size_t i;

	check(r, "big.test", 1, DNS_OK, 16, &s);	/* 20 MX hosts */
	for (i = 0; i < 16; i++) {
		snprintf(host, sizeof(host), "h%02zu.big.test", i + 1);
		snprintf(want, sizeof(want), "127.0.6.%zu", i + 1);
		expect_target(&s.res, i, host, (unsigned)i + 1, want);
	}
	check(r, "many.test", 0, DNS_OK, 8, &s);	/* 12 addresses */
	check(r, "huge.test", 0, DNS_OK, 8, &s);	/* 88, over TCP */
	close_and_drain(r);
}

struct many {
	int calls;
	const char *name;
	enum dns_status want;
	size_t n;
};

static void many_done(void *arg, const struct dns_result *res)
{
	struct many *m = arg;

	m->calls++;
	cr_assert_eq(res->status, m->want, "%s: %d %s", m->name, res->status,
	    res->text);
	cr_assert_eq(res->n, m->n, "%s: %zu targets", m->name, res->n);
	n_done++;
	if (n_done >= n_want)
		ev_stop(&loop);
}

/* 1000 next hops at once, about 9000 DNS questions: the in-flight cap
 * keeps dnsmasq's socket buffer from overflowing, so no question waits
 * for a retransmission (2 s here). */
#define MANY 1000
Test(dns_live, many_queries_in_flight_at_once)
{
	static const struct many kinds[] = {
		{ 0, "pref.test", DNS_OK, 3 }, { 0, "nomx.test", DNS_OK, 2 },
		{ 0, "nx.test", DNS_NOTFOUND, 0 },
		{ 0, "nullmx.test", DNS_NULLMX, 0 },
		{ 0, "dual.test", DNS_OK, 2 }, { 0, "big.test", DNS_OK, 16 },
	};
	struct dns_resolver *r = dns_open(&loop, servers, 2000);
	struct many *m = xcalloc(MANY, sizeof(*m));
	long long t0 = now_ms();
	size_t i;

	n_done = 0;
	n_want = MANY;
	for (i = 0; i < MANY; i++) {
		m[i] = kinds[i % ARRAY_LEN(kinds)];
		dns_resolve(r, m[i].name, 25, 1, many_done, &m[i]);
	}
	run_for(10000);
	cr_assert_eq(n_done, MANY);
	for (i = 0; i < MANY; i++)
		cr_assert_eq(m[i].calls, 1);
	cr_assert_lt(now_ms() - t0, 2000, "%lld ms", now_ms() - t0);
	close_and_drain(r);
	free(m);
}

struct close_ctx {
	struct dns_resolver *r;
	struct slot *s;
};

static void close_done(void *arg, const struct dns_result *res)
{
	struct close_ctx *c = arg;

	slot_done(&c->s[n_done], res);
	if (c->r != NULL) {
		dns_close(c->r);	/* inside c-ares: deferred */
		c->r = NULL;
	}
}

Test(dns_live, close_from_a_callback_cancels_the_rest)
{
	struct close_ctx c = { open_dnsmasq(), xcalloc(10, sizeof(*c.s)) };
	int i, ok = 0, temp = 0;

	n_done = 0;
	n_want = 10;
	dns_resolve(c.r, "pref.test", 25, 1, close_done, &c);
	for (i = 1; i < 10; i++)
		dns_resolve(c.r, "tempfail.test", 25, 1, close_done, &c);
	run_for(5000);
	cr_assert_eq(n_done, 10);
	cr_assert_null(c.r);
	for (i = 0; i < 10; i++) {
		cr_assert_eq(c.s[i].calls, 1);
		ok += c.s[i].res.status == DNS_OK;
		temp += c.s[i].res.status == DNS_TEMPFAIL;
	}
	cr_assert_eq(ok + temp, 10);
	cr_assert_geq(temp, 9);
	n_want = 0;
	run_for(50);		/* let the cancelled ops complete */
	free(c.s);
}

/* ---- no dnsmasq needed ---- */

/* A resolver whose server is a free loopback port: with keep, a bound
 * UDP socket that never answers (*keep); without, nobody (refused). */
static struct dns_resolver *open_local(int *keep, unsigned timeout_ms)
{
	char srv[32];
	struct dns_resolver *r;

	snprintf(srv, sizeof(srv), "127.0.0.1:%u", free_port(keep));
	r = dns_open(&loop, srv, timeout_ms);
	cr_assert_not_null(r, "dns_open: %s", strerror(errno));
	return r;
}

/* dns_resolve must finish name before returning, with status st. */
static void immediate(struct dns_resolver *r, const char *name,
    enum dns_status st, struct slot *s)
{
	memset(s, 0, sizeof(*s));
	n_done = 0;
	n_want = 0;
	dns_resolve(r, name, 25, 1, slot_done, s);
	cr_assert_eq(s->calls, 1, "'%s' not immediate", name);
	cr_assert_eq(s->res.status, st, "'%s': %s", name, s->res.text);
}

TestSuite(dns_local, .init = loop_up, .fini = loop_down);

Test(dns_local, literal_addresses_need_no_query)
{
	static const struct {
		const char *in, *host, *addr;
	} lit[] = {
		{ "127.0.0.1", "127.0.0.1", "127.0.0.1" },
		{ "[127.0.0.1]", "127.0.0.1", "127.0.0.1" },
		{ "[IPv6:::1]", "IPv6:::1", "::1" },
		{ "::1", "::1", "::1" },
		{ "[2001:db8::5]", "2001:db8::5", "2001:db8::5" },
	};
	int silent;
	struct dns_resolver *r = open_local(&silent, 1000); /* a query hangs */
	struct slot s;
	size_t i;

	for (i = 0; i < ARRAY_LEN(lit); i++) {
		immediate(r, lit[i].in, DNS_OK, &s);
		cr_assert_eq(s.res.n, 1);
		expect_target(&s.res, 0, lit[i].host, 0, lit[i].addr);
	}
	close_and_drain(r);
	close(silent);
}

Test(dns_local, malformed_names_are_not_found_at_once)
{
	static const char *bad[] = { "", "[]", "a b.test", "tab\t.test",
	    "back\\slash.test" };
	char longname[300];
	struct dns_resolver *r = open_local(NULL, 1000);
	struct slot s;
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		immediate(r, bad[i], DNS_NOTFOUND, &s);
		cr_assert_null(strchr(s.res.text, '\t'));
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	immediate(r, longname, DNS_NOTFOUND, &s);
	close_and_drain(r);
}

Test(dns_local, server_lists_are_checked)
{
	static const char *good[] = { "127.0.0.1", "127.0.0.1:5353", "::1",
	    "[::1]", "[::1]:53", "127.0.0.1,[::1]:5353", "127.0.0.1," };
	static const char *bad[] = { "not an address", "host.example",
	    "1.2.3.4:99999", "127.0.0.1:0", ",127.0.0.1", "1.2.3.4,,::1",
	    "[::1" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(good); i++) {
		struct dns_resolver *r = dns_open(&loop, good[i], 1000);

		cr_assert_not_null(r, "%s refused", good[i]);
		dns_close(r);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		errno = 0;
		cr_assert_null(dns_open(&loop, bad[i], 1000), "%s", bad[i]);
		cr_assert_eq(errno, EINVAL);
	}
}

Test(dns_local, dead_server_is_a_quick_tempfail)
{
	struct dns_resolver *r = open_local(NULL, 300);
	long long t0 = now_ms();
	struct slot s;

	check(r, "example.test", 1, DNS_TEMPFAIL, 0, &s);
	cr_assert_lt(now_ms() - t0, 900 + 300);
	cr_assert(strstr(s.res.text, "try again") != NULL, "%s", s.res.text);
	close_and_drain(r);
}

Test(dns_local, silent_server_times_out_as_tempfail)
{
	int silent;
	struct dns_resolver *r = open_local(&silent, 200);
	long long t0 = now_ms(), dt;
	struct slot s;

	check(r, "example.test", 1, DNS_TEMPFAIL, 0, &s);
	dt = now_ms() - t0;
	/* Two tries: 200 ms, then 400 ms. */
	cr_assert_geq(dt, 500);
	cr_assert_lt(dt, 2000);
	cr_assert(strstr(s.res.text, "Timeout") != NULL, "%s", s.res.text);
	close_and_drain(r);
	close(silent);
}

/* A hostile server: answers each query according to its first label.
 * "loop": an MX whose host is a compression pointer to itself; "lie": 5
 * answers claimed, none sent; "long": an MX host of 320 bytes; anything
 * else: an MX to "." plus one to "." again (no usable host). */
static void hostile_serve(int fd)
{
	unsigned char q[512], a[1024];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;

	for (;;) {
		size_t qend = 12, len, i;

		flen = sizeof(from);
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from,
		    &flen);
		if (n < 17)
			continue;
		while (qend < (size_t)n && q[qend] != 0)
			qend += q[qend] + 1u;
		qend += 5;		/* root, type, class */
		if (qend > (size_t)n)
			continue;
		memcpy(a, q, qend);
		a[2] = 0x81, a[3] = 0x80;		/* response, RA */
		a[4] = 0, a[5] = 1, a[6] = 0, a[7] = 1;	/* qd 1, an 1 */
		memset(a + 8, 0, 4);
		len = qend;
		memcpy(a + len, "\xc0\x0c\x00\x0f\x00\x01\x00\x00\x00\x3c", 10);
		len += 10;
		if (memcmp(q + 13, "loop", 4) == 0) {
			memcpy(a + len, "\x00\x04\x00\x0a", 4);
			a[len + 4] = 0xc0;
			a[len + 5] = (unsigned char)(len + 4);
			len += 6;
		} else if (memcmp(q + 13, "lie", 3) == 0) {
			a[7] = 5;
			len = qend;
		} else if (memcmp(q + 13, "long", 4) == 0) {
			a[len] = 0x01, a[len + 1] = 0x43;	/* rdlen 323 */
			a[len + 2] = 0, a[len + 3] = 10;
			len += 4;
			for (i = 0; i < 5; i++) {
				a[len++] = 63;
				memset(a + len, 'x', 63);
				len += 63;
			}
			a[len++] = 0;
		} else {
			a[7] = 2;
			memcpy(a + len, "\x00\x03\x00\x00\x00", 5);
			memcpy(a + len + 5, a + qend, 10);
			memcpy(a + len + 15, "\x00\x03\x00\x05\x00", 5);
			len += 20;
		}
		sendto(fd, a, len, 0, (struct sockaddr *)&from, flen);
	}
}

Test(dns_local, hostile_answers_defer_without_harm)
{
	static const char *names[] = { "loop.evil.test", "lie.evil.test",
	    "long.evil.test", "dots.evil.test" };
	int fd, st;
	struct dns_resolver *r = open_local(&fd, 300);
	pid_t pid = fork();
	struct slot s;
	size_t i;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		hostile_serve(fd);
	}
	close(fd);
	for (i = 0; i < ARRAY_LEN(names); i++)
		check(r, names[i], 1, DNS_TEMPFAIL, 0, &s);
	close_and_drain(r);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

Test(dns_local, close_with_queries_in_flight_cancels_them)
{
	struct slot *s = xcalloc(300, sizeof(*s));
	int silent, i;
	struct dns_resolver *r = open_local(&silent, 5000);

	n_done = 0;
	n_want = 0;
	for (i = 0; i < 300; i++)
		dns_resolve(r, i % 2 ? "a.example.test" : "b.example.test", 25,
		    i % 3 != 0, slot_done, &s[i]);
	run_for(50);		/* 128 on the wire, the rest waiting */
	cr_assert_eq(n_done, 0);
	dns_close(r);
	cr_assert_eq(n_done, 300);
	for (i = 0; i < 300; i++) {
		cr_assert_eq(s[i].calls, 1);
		cr_assert_eq(s[i].res.status, DNS_TEMPFAIL);
		cr_assert_eq(s[i].res.n, 0);
	}
	run_for(50);		/* cancelled polls and timer complete */
	free(s);
	close(silent);
}

Test(dns_local, close_before_the_loop_ever_ran)
{
	struct dns_resolver *r = open_local(NULL, 1000);
	struct slot s;

	memset(&s, 0, sizeof(s));
	n_done = 0;
	n_want = 0;
	dns_resolve(r, "x.example.test", 25, 1, slot_done, &s);
	dns_close(r);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.res.status, DNS_TEMPFAIL);
	run_for(50);
	dns_close(dns_open(&loop, "", 1000));	/* resolv.conf, no query */
}
