/* dns: next-hop resolution with c-ares on the process's io_uring ring; see
 * dns.h.  c-ares tells us its sockets through the sock-state callback; each
 * gets a one-shot poll (re-armed after every completion) and one timer
 * drives ares_timeout().  Ops are separately allocated: when the resolver
 * closes, ops still in flight are cancelled and freed by their last
 * completion.  c-ares is never re-entered from its own callbacks: a
 * dns_close() made inside one is carried out when the outermost call ends.
 * At most DNS_INFLIGHT_MAX queries are on the wire; the rest wait in FIFO
 * order, so a burst (a thousand new domains) does not overflow the
 * server's socket buffer and cost everyone a retransmission timeout. */
#include "lib/dns.h"
#include "lib/mem.h"
#include "lib/netaddr.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DNS_MX_MAX 16		/* MX records considered per domain */
#define DNS_ADDRS_PER_HOST 8	/* addresses kept per host and family */
#define DNS_TRIES 2
#define DNS_EDNS_SIZE 1232
#define DNS_INFLIGHT_MAX 128	/* c-ares queries outstanding at once */

enum { DNS_FAM6, DNS_FAM4, DNS_NFAM };

/* A list node; a lone node points at itself. */
struct dns_link {
	struct dns_link *next, *prev;
};

/* One in-flight-able op: a c-ares socket's poll or the resolver's timer. */
struct dns_io {
	struct ev_op op;
	struct dns_link link;		/* on r->socks or dns_orphans */
	struct dns_resolver *r;		/* NULL once orphaned */
	struct __kernel_timespec ts;
	long long deadline;		/* timer: when it fires (ms) */
	int fd;
	unsigned want, armed;		/* poll masks */
	unsigned char inflight, cancelling, in_cb, closed;
};

/* One DNS question, on the wire or waiting its turn; embedded in its
 * owner (name lives there too). */
struct dns_req {
	struct dns_req *next;
	struct dns_resolver *r;
	const char *name;
	int type;
	ares_callback cb;
	void *arg;
};

struct dns_resolver {
	struct ev_loop *loop;
	struct dns_req *wait_head, **wait_tail;	/* FIFO not yet sent */
	unsigned active;		/* queries given to c-ares */
	int pumping;
	ares_channel ch;
	struct dns_io *timer;
	struct dns_link socks;
	unsigned depth;			/* our calls into c-ares */
	unsigned timeout_ms;		/* per try: none expires sooner */
	int closing, close_pending;
};

/* One address query (AAAA or A) for one host. */
struct dns_lookup {
	struct dns_req req;
	struct dns_query *q;
	int status;			/* ARES_* */
	unsigned char host, fam;
	size_t n;
	unsigned char addr[DNS_ADDRS_PER_HOST][16];
};

struct dns_query {
	struct dns_req req;		/* the MX question */
	struct dns_resolver *r;
	dns_done_fn *done;
	void *arg;
	unsigned port;
	unsigned pending;		/* c-ares callbacks outstanding + 1 */
	int decided;			/* res final without lookups */
	char name[256];
	size_t nmx;
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_lookup lk[DNS_MX_MAX][DNS_NFAM];
	struct dns_result res;
};

/* Ops whose resolver is gone, kept reachable until their completion. */
static struct dns_link dns_orphans = { &dns_orphans, &dns_orphans };

static void dns_link_init(struct dns_link *l)
{
	l->next = l->prev = l;
}

static void dns_link_add(struct dns_link *head, struct dns_link *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}

static void dns_link_del(struct dns_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	dns_link_init(l);
}

static long long dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* snprintf that truncates on purpose (hosts and texts are bounded). */
static void dns_strf(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void dns_strf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

/* ---- ops: socket polls and the timer ---- */

static void dns_sock_cb(struct ev_op *op, int res, unsigned flags);
static void dns_timer_cb(struct ev_op *op, int res, unsigned flags);
static void dns_destroy(struct dns_resolver *r);

static struct dns_io *dns_io_new(struct dns_resolver *r, int fd, ev_fn fn)
{
	struct dns_io *io = xcalloc(1, sizeof(*io));

	io->op.fn = fn;
	io->r = r;
	io->fd = fd;
	dns_link_init(&io->link);
	return io;
}

static void dns_io_free(struct dns_io *io)
{
	dns_link_del(&io->link);
	free(io);
}

/* Detach io from its resolver: freed now, or by its last completion. */
static void dns_io_release(struct dns_io *io)
{
	struct ev_loop *loop = io->r->loop;

	dns_link_del(&io->link);
	if (io->in_cb) {
		io->closed = 1;	/* the running callback frees it */
		return;
	}
	if (!io->inflight) {
		free(io);
		return;
	}
	io->r = NULL;
	dns_link_add(&dns_orphans, &io->link);
	if (!io->cancelling) {
		io->cancelling = 1;
		ev_cancel_op(loop, &io->op);
	}
}

static void dns_timer_update(struct dns_resolver *r)
{
	struct dns_io *t = r->timer;
	struct timeval tvbuf, *tv;
	long long ms, deadline;

	/* ares_timeout() walks every query: skip it when the armed timer
	 * fires before any new query could expire anyway. */
	if (t->inflight && t->deadline <= dns_now_ms() + r->timeout_ms)
		return;
	tv = ares_timeout(r->ch, NULL, &tvbuf);
	if (tv == NULL)
		return;	/* nothing pending: a stray firing is harmless */
	ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
	deadline = dns_now_ms() + ms;
	if (t->inflight) {
		if (deadline < t->deadline && !t->cancelling) {
			t->cancelling = 1;  /* re-armed by the completion */
			ev_cancel_op(r->loop, &t->op);
		}
		return;
	}
	t->deadline = deadline;
	t->inflight = 1;
	ev_timeout(r->loop, &t->op, &t->ts,
	    (unsigned)(ms > 600000 ? 600000 : ms));
}

/* Leave c-ares: run a deferred close, or re-arm the timer. */
static void dns_leave(struct dns_resolver *r)
{
	if (--r->depth > 0)
		return;
	if (r->close_pending)
		dns_destroy(r);
	else if (!r->closing)
		dns_timer_update(r);
}

static void dns_timer_cb(struct ev_op *op, int res, unsigned flags)
{
	struct dns_io *t = container_of(op, struct dns_io, op);
	struct dns_resolver *r = t->r;

	t->inflight = 0;
	t->cancelling = 0;
	if (r == NULL) {
		dns_io_free(t);
		return;
	}
	r->depth++;		/* calling c-ares: dns_close() waits */
	if (res == -ETIME)
		ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_leave(r);
}

static void dns_sock_arm(struct dns_io *s)
{
	if (s->in_cb || s->closed)
		return;		/* the running callback re-arms */
	if (s->inflight) {
		if (s->armed != s->want && !s->cancelling) {
			s->cancelling = 1;
			ev_cancel_op(s->r->loop, &s->op);
		}
		return;
	}
	s->armed = s->want;
	s->inflight = 1;
	ev_poll(s->r->loop, &s->op, s->fd, s->armed);
}

static void dns_sock_cb(struct ev_op *op, int res, unsigned flags)
{
	struct dns_io *s = container_of(op, struct dns_io, op);
	struct dns_resolver *r = s->r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	s->inflight = 0;
	s->cancelling = 0;
	if (r == NULL) {
		dns_io_free(s);
		return;
	}
	if (res == -ECANCELED || res == 0) {
		dns_sock_arm(s);	/* the wanted mask changed */
		return;
	}
	if (res < 0 || (res & (POLLIN | POLLERR | POLLHUP)))
		rfd = s->fd;		/* c-ares reads the error */
	if (res > 0 && (res & (POLLOUT | POLLERR | POLLHUP)) &&
	    (s->want & POLLOUT))
		wfd = s->fd;
	s->in_cb = 1;
	r->depth++;		/* calling c-ares: dns_close() waits */
	ares_process_fd(r->ch, rfd, wfd);
	s->in_cb = 0;
	if (s->closed)
		free(s);	/* c-ares closed it during the call */
	else
		dns_sock_arm(s);
	dns_leave(r);
}

static struct dns_io *dns_sock_find(struct dns_resolver *r, int fd)
{
	struct dns_link *l;

	for (l = r->socks.next; l != &r->socks; l = l->next) {
		struct dns_io *s = container_of(l, struct dns_io, link);

		if (s->fd == fd)
			return s;
	}
	return NULL;
}

/* c-ares: fd wants reading/writing, or (neither) is about to be closed. */
static void dns_sock_state(void *data, ares_socket_t fd, int readable,
    int writable)
{
	struct dns_resolver *r = data;
	struct dns_io *s = dns_sock_find(r, fd);
	unsigned want = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0);

	if (want == 0) {
		if (s != NULL)
			dns_io_release(s);
		return;
	}
	if (s == NULL) {
		s = dns_io_new(r, fd, dns_sock_cb);
		dns_link_add(&r->socks, &s->link);
	}
	s->want = want;
	dns_sock_arm(s);
}

/* ---- c-ares socket I/O ---- */

/* c-ares writes TCP queries with writev(2): a reset connection would raise
 * SIGPIPE and kill a process that has not ignored it.  These send with
 * MSG_NOSIGNAL instead, and make every socket non-blocking from birth. */
static ares_socket_t dns_so_socket(int af, int type, int proto, void *u)
{
	return socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

static int dns_so_close(ares_socket_t fd, void *u)
{
	return close(fd);
}

static int dns_so_connect(ares_socket_t fd, const struct sockaddr *sa,
    ares_socklen_t len, void *u)
{
	return connect(fd, sa, len);
}

static ares_ssize_t dns_so_recvfrom(ares_socket_t fd, void *buf, size_t len,
    int flags, struct sockaddr *from, ares_socklen_t *fromlen, void *u)
{
	return recvfrom(fd, buf, len, flags, from, fromlen);
}

static ares_ssize_t dns_so_sendv(ares_socket_t fd, const struct iovec *iov,
    int n, void *u)
{
	struct msghdr m;

	memset(&m, 0, sizeof(m));
	m.msg_iov = (struct iovec *)(uintptr_t)iov;
	m.msg_iovlen = (size_t)n;
	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const struct ares_socket_functions dns_so_funcs = {
	dns_so_socket, dns_so_close, dns_so_connect, dns_so_recvfrom,
	dns_so_sendv,
};

/* ---- the resolver ---- */

/* Servers as the config writes them ("ip", "ip:port", "[ipv6]",
 * "[ipv6]:port", comma-separated) in c-ares's form, which lacks "[ipv6]"
 * and checks ports loosely. */
static int dns_servers_csv(const char *in, char *out, size_t size)
{
	struct conf_listen cl;
	const struct sockaddr_in6 *s6 = (const void *)&cl.addr;
	const struct sockaddr_in *s4 = (const void *)&cl.addr;
	char item[300], host[INET6_ADDRSTRLEN];
	size_t len = 0, n;
	const char *why;
	int k;

	for (out[0] = '\0'; *in != '\0'; in += in[n] == ',' ? n + 1 : n) {
		if ((n = strcspn(in, ",")) == 0 || n >= sizeof(item))
			return -EINVAL;
		memcpy(item, in, n);
		item[n] = '\0';
		if (netaddr_parse_server(item, 53, &cl, &why) < 0)
			return -EINVAL;
		if (cl.addr.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			k = snprintf(out + len, size - len, "%s[%s]:%u",
			    len ? "," : "", host, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			k = snprintf(out + len, size - len, "%s%s:%u",
			    len ? "," : "", host, ntohs(s4->sin_port));
		}
		if (k < 0 || (size_t)k >= size - len)
			return -EINVAL;
		len += (size_t)k;
	}
	return 0;
}

struct dns_resolver *dns_open(struct ev_loop *loop, const char *servers,
    unsigned timeout_ms)
{
	struct dns_resolver *r;
	struct ares_options o;
	int rc;

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		errno = ENOMEM;
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->wait_tail = &r->wait_head;
	dns_link_init(&r->socks);
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = dns_sock_state;
	o.sock_state_cb_data = r;
	r->timeout_ms = timeout_ms > 0 && timeout_ms < 600000 ? timeout_ms :
	    5000;
	o.timeout = (int)r->timeout_ms;
	o.tries = DNS_TRIES;
	/* EDNS0 with the DNS Flag Day 2020 size: big MX sets stay on UDP. */
	o.flags = ARES_FLAG_EDNS;
	o.ednspsz = DNS_EDNS_SIZE;
	rc = ares_init_options(&r->ch, &o, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
	    ARES_OPT_EDNSPSZ);
	if (rc == ARES_SUCCESS && servers != NULL && servers[0] != '\0') {
		size_t size = size_add(strlen(servers), 1) * 8;
		char *csv = xmalloc(size);

		if (dns_servers_csv(servers, csv, size) < 0)
			rc = ARES_EBADSTR;
		else
			rc = ares_set_servers_ports_csv(r->ch, csv);
		free(csv);
		if (rc != ARES_SUCCESS)
			ares_destroy(r->ch);
	}
	if (rc != ARES_SUCCESS) {
		free(r);
		ares_library_cleanup();
		errno = rc == ARES_ENOMEM ? ENOMEM : EINVAL;
		return NULL;
	}
	ares_set_socket_functions(r->ch, &dns_so_funcs, r);
	r->timer = dns_io_new(r, -1, dns_timer_cb);
	return r;
}

/* Destroy the channel (every query's callback runs) and let go of ops. */
static void dns_destroy(struct dns_resolver *r)
{
	r->closing = 1;
	r->close_pending = 0;
	ares_destroy(r->ch);
	while (r->wait_head != NULL) {
		struct dns_req *rq = r->wait_head;

		r->wait_head = rq->next;
		rq->cb(rq->arg, ARES_EDESTRUCTION, 0, NULL, 0);
	}
	while (r->socks.next != &r->socks)
		dns_io_release(container_of(r->socks.next, struct dns_io,
		    link));
	dns_io_release(r->timer);
	free(r);
	ares_library_cleanup();
}

void dns_close(struct dns_resolver *r)
{
	if (r == NULL || r->closing || r->close_pending)
		return;
	if (r->depth > 0)
		r->close_pending = 1;	/* inside c-ares: at dns_leave */
	else
		dns_destroy(r);
}

/* ---- results ---- */

#define DNS_TYPE_NAME(fam) ((fam) == DNS_FAM6 ? "AAAA" : "A")

static int dns_is_tempfail(int status)
{
	return status != ARES_SUCCESS && status != ARES_ENOTFOUND &&
	    status != ARES_ENODATA && status != ARES_EBADNAME;
}

/* A one-line reason, Postfix style; control characters become '?'. */
static void dns_fail(struct dns_result *res, enum dns_status st,
    const char *name, const char *type, int status)
{
	const char *why;
	char *p;

	res->status = st;
	if (status == ARES_ENODATA)
		why = "Host found but no data record of requested type";
	else if (status == ARES_ENOTFOUND || status == ARES_EBADNAME)
		why = "Host not found";
	else
		why = NULL;
	if (why != NULL)
		dns_strf(res->text, sizeof(res->text), "Host or domain name "
		    "not found. Name service error for name=%s type=%s: %s",
		    name, type, why);
	else
		dns_strf(res->text, sizeof(res->text), "Host or domain name "
		    "not found. Name service error for name=%s type=%s: Host "
		    "not found, try again (%s)", name, type,
		    ares_strerror(status));
	for (p = res->text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static void dns_add_target(struct dns_query *q, const char *host,
    unsigned pref, int fam, const unsigned char *addr)
{
	struct dns_target *t;

	if (q->res.n == DNS_TARGETS_MAX)
		return;
	t = &q->res.t[q->res.n++];
	memset(t, 0, sizeof(*t));
	dns_strf(t->host, sizeof(t->host), "%s", host);
	t->pref = pref;
	if (fam == DNS_FAM6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)q->port);
		memcpy(&sin6->sin6_addr, addr, 16);
		t->addrlen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)q->port);
		memcpy(&sin->sin_addr, addr, 4);
		t->addrlen = sizeof(*sin);
	}
}

/* Targets in MX order; DNS_OK if any, else why not. */
static void dns_collect(struct dns_query *q)
{
	const struct dns_lookup *temp = NULL, *perm = NULL;
	size_t i, k;
	int f;

	for (i = 0; i < q->nmx; i++) {
		for (f = 0; f < DNS_NFAM; f++) {
			const struct dns_lookup *lk = &q->lk[i][f];

			for (k = 0; k < lk->n; k++)
				dns_add_target(q, q->mx[i].host, q->mx[i].pref,
				    f, lk->addr[k]);
			if (dns_is_tempfail(lk->status) && temp == NULL)
				temp = lk;
		}
		if (perm == NULL)
			perm = &q->lk[i][DNS_FAM4];
	}
	if (q->res.n > 0)
		q->res.status = DNS_OK;
	else if (temp != NULL)
		dns_fail(&q->res, DNS_TEMPFAIL, q->mx[temp->host].host,
		    DNS_TYPE_NAME(temp->fam), temp->status);
	else if (perm != NULL)
		dns_fail(&q->res, DNS_NOTFOUND, q->mx[perm->host].host,
		    DNS_TYPE_NAME(perm->fam), perm->status);
	else
		dns_fail(&q->res, DNS_NOTFOUND, q->name, "MX", ARES_ENOTFOUND);
}

static void dns_finish(struct dns_query *q)
{
	if (!q->decided)
		dns_collect(q);
	if (q->r != NULL && (q->r->closing || q->r->close_pending)) {
		q->res.status = DNS_TEMPFAIL;
		q->res.n = 0;
		dns_strf(q->res.text, sizeof(q->res.text),
		    "DNS lookup for %s cancelled: resolver closed", q->name);
	}
	q->done(q->arg, &q->res);
	free(q);
}

static void dns_unref(struct dns_query *q)
{
	if (--q->pending == 0)
		dns_finish(q);
}

/* ---- the in-flight cap ---- */

static void dns_req_cb(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen);

/* Hand waiting questions to c-ares while there is room. */
static void dns_req_pump(struct dns_resolver *r)
{
	if (r->pumping)
		return;	/* a synchronous failure inside the loop */
	r->pumping = 1;
	while (r->wait_head != NULL && r->active < DNS_INFLIGHT_MAX &&
	    !r->closing && !r->close_pending) {
		struct dns_req *rq = r->wait_head;

		if ((r->wait_head = rq->next) == NULL)
			r->wait_tail = &r->wait_head;
		r->active++;
		ares_query(r->ch, rq->name, ns_c_in, rq->type, dns_req_cb, rq);
	}
	r->pumping = 0;
}

static void dns_req_cb(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	struct dns_req *rq = arg;
	struct dns_resolver *r = rq->r;	/* rq may be freed by cb */

	r->active--;
	rq->cb(rq->arg, status, timeouts, abuf, alen);
	dns_req_pump(r);
}

/* Ask name/type; cb(arg, ...) runs exactly once, maybe at dns_close. */
static void dns_req_submit(struct dns_resolver *r, struct dns_req *rq,
    const char *name, int type, ares_callback cb, void *arg)
{
	rq->next = NULL;
	rq->r = r;
	rq->name = name;
	rq->type = type;
	rq->cb = cb;
	rq->arg = arg;
	*r->wait_tail = rq;
	r->wait_tail = &rq->next;
	dns_req_pump(r);
}

/* ---- lookups ---- */

static void dns_addr_cb(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	struct dns_lookup *lk = arg;
	int i, n = DNS_ADDRS_PER_HOST, ok = status == ARES_SUCCESS;

	if (status == ARES_SUCCESS && lk->fam == DNS_FAM4) {
		struct ares_addrttl a[DNS_ADDRS_PER_HOST];

		status = ares_parse_a_reply(abuf, alen, NULL, a, &n);
		for (i = 0; status == ARES_SUCCESS && i < n; i++)
			memcpy(lk->addr[lk->n++], &a[i].ipaddr, 4);
	} else if (status == ARES_SUCCESS) {
		struct ares_addr6ttl a6[DNS_ADDRS_PER_HOST];

		status = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
		for (i = 0; status == ARES_SUCCESS && i < n; i++)
			memcpy(lk->addr[lk->n++], &a6[i].ip6addr, 16);
	}
	if (status == ARES_SUCCESS && lk->n == 0)
		status = ARES_ENODATA;
	if (ok && status != ARES_SUCCESS && status != ARES_ENODATA)
		status = ARES_EBADRESP;	/* a reply we cannot parse */
	lk->status = status;
	dns_unref(lk->q);
}

/* Query AAAA and A for every MX host; the caller holds a reference. */
static void dns_lookup_hosts(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	size_t i;
	int f;

	for (i = 0; i < q->nmx; i++) {
		for (f = 0; f < DNS_NFAM; f++) {
			struct dns_lookup *lk = &q->lk[i][f];

			lk->q = q;
			lk->host = (unsigned char)i;
			lk->fam = (unsigned char)f;
			lk->status = ARES_EDESTRUCTION;
			if (r->closing || r->close_pending)
				continue;
			q->pending++;
			dns_req_submit(r, &lk->req, q->mx[i].host,
			    f == DNS_FAM6 ? ns_t_aaaa : ns_t_a, dns_addr_cb,
			    lk);
		}
	}
}

/* Keep the DNS_MX_MAX best usable records, skipping duplicate hosts. */
static void dns_mx_add(struct dns_query *q, const char *host, unsigned pref)
{
	size_t i, worst = 0;

	if (strlen(host) >= sizeof(q->mx[0].host))
		return;
	for (i = 0; i < q->nmx; i++) {
		if (strcasecmp(q->mx[i].host, host) == 0) {
			if (pref < q->mx[i].pref)
				q->mx[i].pref = pref;
			return;
		}
		if (q->mx[i].pref > q->mx[worst].pref)
			worst = i;
	}
	if (q->nmx < DNS_MX_MAX)
		i = q->nmx++;
	else if (pref < q->mx[worst].pref)
		i = worst;
	else
		return;
	dns_strf(q->mx[i].host, sizeof(q->mx[i].host), "%s", host);
	q->mx[i].pref = pref;
}

/* The MX answer: null MX, or the hosts in order. 0, or an ARES_* error. */
static int dns_mx_parse(struct dns_query *q, unsigned char *abuf, int alen)
{
	struct ares_mx_reply *reply = NULL, *m;
	struct dns_mx first;
	size_t total = 0;
	int status = ares_parse_mx_reply(abuf, alen, &reply);

	if (status != ARES_SUCCESS)
		return status;
	memset(&first, 0, sizeof(first));
	for (m = reply; m != NULL; m = m->next) {
		if (total++ == 0) {
			dns_strf(first.host, sizeof(first.host), "%s", m->host);
			first.pref = m->priority;
		}
		if (m->host[0] != '\0' && strcmp(m->host, ".") != 0)
			dns_mx_add(q, m->host, m->priority);
	}
	ares_free_data(reply);
	if (total == 0)
		return ARES_ENODATA;
	if (dns_mx_is_null(&first, total)) {
		q->decided = 1;
		q->res.status = DNS_NULLMX;
		dns_strf(q->res.text, sizeof(q->res.text),
		    "Domain %s does not accept mail (nullMX)", q->name);
	} else if (q->nmx == 0) {
		/* Only unusable hosts (root among others, overlong names):
		 * broken, and maybe briefly -- defer rather than bounce. */
		q->decided = 1;
		dns_fail(&q->res, DNS_TEMPFAIL, q->name, "MX", ARES_EBADRESP);
	}
	return ARES_SUCCESS;
}

static void dns_mx_cb(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;

	if (status == ARES_SUCCESS) {
		status = dns_mx_parse(q, abuf, alen);
		if (status != ARES_SUCCESS && status != ARES_ENODATA)
			status = ARES_EBADRESP;	/* not EBADNAME: defer */
	}
	if (status == ARES_SUCCESS && !q->decided) {
		dns_mx_order(q->mx, q->nmx, arc4random);
		dns_lookup_hosts(q);
	} else if (status == ARES_ENODATA) {
		/* No MX: the domain itself is the implicit MX (RFC 5321). */
		q->nmx = 1;
		dns_strf(q->mx[0].host, sizeof(q->mx[0].host), "%s", q->name);
		q->mx[0].pref = 0;
		dns_lookup_hosts(q);
	} else if (status != ARES_SUCCESS) {
		q->decided = 1;
		dns_fail(&q->res, dns_is_tempfail(status) ? DNS_TEMPFAIL :
		    DNS_NOTFOUND, q->name, "MX", status);
	}
	dns_unref(q);
}

/* ---- dns_resolve ---- */

/* A literal address, with or without brackets ("[IPv6:...]" too). */
static int dns_literal(struct dns_query *q, const char *name)
{
	unsigned char a[16];

	if (strncasecmp(name, "IPv6:", 5) == 0 &&
	    inet_pton(AF_INET6, name + 5, a) == 1)
		dns_add_target(q, name, 0, DNS_FAM6, a);
	else if (inet_pton(AF_INET, name, a) == 1)
		dns_add_target(q, name, 0, DNS_FAM4, a);
	else if (inet_pton(AF_INET6, name, a) == 1)
		dns_add_target(q, name, 0, DNS_FAM6, a);
	else
		return 0;
	q->decided = 1;
	q->res.status = DNS_OK;
	return 1;
}

/* Strip brackets into q->name; 0 if the name is unusable. */
static int dns_name(struct dns_query *q, const char *name, int *mx)
{
	size_t len = strlen(name), i;

	if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
		name++;
		len -= 2;
		*mx = 0;	/* "[host]": no MX lookup */
	}
	if (len == 0 || len >= sizeof(q->name) - 1)
		return 0;
	memcpy(q->name, name, len);
	q->name[len] = '\0';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)q->name[i];

		if (c <= 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	return 1;
}

void dns_resolve(struct dns_resolver *r, const char *name, unsigned port,
    int mx, dns_done_fn *done, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->r = r;
	q->done = done;
	q->arg = arg;
	q->port = port;
	q->pending = 1;
	if (!dns_name(q, name, &mx)) {
		q->decided = 1;
		dns_strf(q->name, sizeof(q->name), "%.200s", name);
		dns_fail(&q->res, DNS_NOTFOUND, q->name, mx ? "MX" : "A",
		    ARES_EBADNAME);
		q->r = NULL;
	} else if (dns_literal(q, q->name)) {
		q->r = NULL;
	} else if (r->closing || r->close_pending) {
		q->decided = 1;		/* dns_finish says why */
	} else {
		r->depth++;	/* calling c-ares: dns_close() waits */
		if (mx) {
			q->pending++;
			dns_req_submit(r, &q->req, q->name, ns_t_mx, dns_mx_cb,
			    q);
		} else {
			q->nmx = 1;
			dns_strf(q->mx[0].host, sizeof(q->mx[0].host), "%s",
			    q->name);
			dns_lookup_hosts(q);
		}
		dns_unref(q);
		dns_leave(r);
		return;
	}
	dns_unref(q);
}
