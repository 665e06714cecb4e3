/* libFuzzer target for the DNS answer handling of lib/dns.c: the input
 * plays the name server.  A resolver whose in-flight cap is full keeps
 * every question in its FIFO, where this harness answers it with the next
 * piece of input through the question's own c-ares callback -- the same
 * ares_parse_mx_reply / ares_parse_a(aaa)_reply calls, MX selection,
 * null-MX check, ordering, per-host lookups and target collection the
 * daemon runs.  lib/dns.c is included rather than linked because those
 * callbacks are static; nothing here reaches c-ares's channel (depth
 * stays 1, as if inside c-ares, so the timer is never armed).
 *
 * Input: flags byte (bit 0: MX lookup, bit 1: the name follows, up to a
 * NUL, else "example.org"), then per question: a status byte (mostly
 * ARES_SUCCESS) and a 2-byte big-endian length with that many answer
 * bytes.  When input runs out, questions time out.  Checked: done runs
 * exactly once, after the last question; questions are sane names of
 * type MX, A or AAAA, no more than the MX cap allows; the result is
 * consistent (DNS_OK iff targets, at most DNS_TARGETS_MAX, families and
 * lengths match, the port is kept, MX preferences never decrease, texts
 * are terminated and printable).  Built and run by tests/fuzz/run. */
#define arc4random fuzz_rnd	/* the MX shuffle, deterministic per input */
#include "lib/dns.c"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PORT 2525

static uint32_t rnd_state;

uint32_t fuzz_rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

struct run {
	int done;
	unsigned questions;
	const char *name;	/* as asked, maybe "[...]" */
};

static void check_text(const char *s, size_t size, int want_nonempty)
{
	size_t n = strnlen(s, size);

	if (n == size || (want_nonempty && n == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void check_target(const struct dns_target *t)
{
	const struct sockaddr_in *sin = (const void *)&t->addr;
	const struct sockaddr_in6 *sin6 = (const void *)&t->addr;

	if (strnlen(t->host, sizeof(t->host)) == sizeof(t->host) ||
	    t->host[0] == '\0')
		abort();
	if (t->addr.ss_family == AF_INET) {
		if (t->addrlen != sizeof(*sin) ||
		    ntohs(sin->sin_port) != FUZZ_PORT)
			abort();
	} else if (t->addr.ss_family == AF_INET6) {
		if (t->addrlen != sizeof(*sin6) ||
		    ntohs(sin6->sin6_port) != FUZZ_PORT)
			abort();
	} else {
		abort();
	}
}

static void done(void *arg, const struct dns_result *res)
{
	struct run *run = arg;

	if (run->done++)
		abort();
	if (res->n > DNS_TARGETS_MAX || (res->status == DNS_OK) != (res->n > 0))
		abort();
	if (res->status != DNS_OK && res->status != DNS_TEMPFAIL &&
	    res->status != DNS_NOTFOUND && res->status != DNS_NULLMX)
		abort();
	if (res->status != DNS_OK)
		check_text(res->text, sizeof(res->text), 1);
	for (size_t i = 0; i < res->n; i++) {
		check_target(&res->t[i]);
		if (i > 0 && res->t[i].pref < res->t[i - 1].pref)
			abort();
	}
}

static int status_of(uint8_t b)
{
	static const int st[] = { ARES_ENODATA, ARES_ENOTFOUND,
		ARES_ETIMEOUT, ARES_ESERVFAIL, ARES_EREFUSED, ARES_EBADRESP,
		ARES_ECONNREFUSED, ARES_EDESTRUCTION };

	return b < 0xc0 ? ARES_SUCCESS : st[b % (sizeof(st) / sizeof(st[0]))];
}

static void check_question(const struct dns_req *rq, struct run *run)
{
	size_t n = strnlen(rq->name, 256);

	if (n == 0 || n == 256)
		abort();
	/* The root is never taken from an MX answer as a host to look up. */
	if (strcmp(rq->name, ".") == 0 && strcmp(run->name, ".") != 0 &&
	    strcmp(run->name, "[.]") != 0)
		abort();
	if (rq->type != ns_t_mx && rq->type != ns_t_a && rq->type != ns_t_aaaa)
		abort();
	if (rq->type == ns_t_mx && run->questions > 0)
		abort();	/* one MX question, first */
	if (++run->questions > 1 + DNS_MX_MAX * DNS_NFAM)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_resolver r;
	struct run run = { 0, 0, NULL };
	const char *name = "example.org";
	char namebuf[300];
	size_t off = 1;
	uint8_t flags;

	if (size < 1)
		return 0;
	flags = data[0];
	if (flags & 2) {
		size_t n = 0;

		while (off < size && data[off] != '\0' && n < sizeof(namebuf) - 1)
			namebuf[n++] = (char)data[off++];
		namebuf[n] = '\0';
		off++;
		name = namebuf;
	}
	memset(&r, 0, sizeof(r));
	r.wait_tail = &r.wait_head;
	r.depth = 1;			/* never into c-ares's channel */
	r.active = DNS_INFLIGHT_MAX;	/* every question waits for us */
	rnd_state = 1;
	run.name = name;
	dns_resolve(&r, name, FUZZ_PORT, flags & 1, done, &run);
	while (r.wait_head != NULL) {
		struct dns_req *rq = r.wait_head;
		int status = ARES_ETIMEOUT;
		unsigned char *abuf = NULL;
		int alen = 0;

		if ((r.wait_head = rq->next) == NULL)
			r.wait_tail = &r.wait_head;
		check_question(rq, &run);
		if (run.done)
			abort();
		if (off + 3 <= size) {
			size_t len = (size_t)data[off + 1] << 8 | data[off + 2];

			status = status_of(data[off]);
			off += 3;
			if (len > size - off)
				len = size - off;
			/* A copy, so ASan sees reads past the answer. */
			if (status == ARES_SUCCESS) {
				abuf = malloc(len > 0 ? len : 1);
				memcpy(abuf, data + off, len);
				alen = (int)len;
			}
			off += len;
		}
		rq->cb(rq->arg, status, 0, abuf, alen);
		free(abuf);
	}
	if (run.done != 1)
		abort();
	return 0;
}
