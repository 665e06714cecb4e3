/* transport: the transport_file parser and lookup; see transport.h.
 * Every line is bounded before it is looked at, NUL bytes and junk are
 * errors with "file:line: message", and the table is sorted once so a
 * lookup is a few binary searches (one per parent domain). */
#include "lib/transport.h"
#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/netaddr.h"
#include "lib/tabfile.h"
#include "lib/tls_policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

struct tp_parse {
	struct tabfile tf;
	struct transport_entry *v;
	size_t n, cap;
};

#define tp_fail(p, ...) tabfile_fail(&(p)->tf, -EINVAL, __VA_ARGS__)

static void tp_entries_free(struct transport_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

static int tp_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split s[0..n) into at most 4 fields; returns how many (4: too many). */
static int tp_fields(const char *s, size_t n, const char *f[4], size_t fl[4])
{
	int k = 0;
	size_t i = 0;

	while (k < 4) {
		while (i < n && tp_space(s[i]))
			i++;
		if (i == n)
			break;
		f[k] = s + i;
		while (i < n && !tp_space(s[i]))
			i++;
		fl[k] = (size_t)(s + i - f[k]);
		k++;
	}
	return k;
}

/* The key of a domain field, lower-cased; NULL if it is not a domain. */
static char *tp_key(const char *d, size_t n)
{
	size_t off = n > 0 && d[0] == '.' ? 1 : 0;
	char *k;

	if (n - off == 0 || n - off > ADDR_DOMAIN_MAX || d[off] == '[' ||
	    addr_valid_domain(d + off, n - off, 1) != ADDR_OK)
		return NULL;
	k = xstrndup(d, n);
	for (size_t i = 0; i < n; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	return k;
}

static int tp_value(struct tp_parse *p, struct transport_entry *e,
    const char *v, size_t n)
{
	struct conf_hop hop;
	const char *why = "bad next hop";
	char text[300];

	if (n == 5 && strncasecmp(v, "local", 5) == 0) {
		e->kind = TRANSPORT_LOCAL;
		return 0;
	}
	if (n >= sizeof(text))
		return tp_fail(p, "next hop too long");
	memcpy(text, v, n);
	text[n] = '\0';
	if (netaddr_parse_hop(text, 25, &hop, &why) < 0)
		return tp_fail(p, "%s: %s", why, text);
	e->kind = hop.no_mx ? TRANSPORT_ADDR : TRANSPORT_HOST;
	snprintf(e->host, sizeof(e->host), "%s", hop.host);
	e->port = hop.port;
	return 0;
}

/* The optional third field, "tls=POLICY": remote next hops only. */
static int tp_tls(struct tp_parse *p, struct transport_entry *e,
    const char *v, size_t n)
{
	if (n < 4 || memcmp(v, "tls=", 4) != 0)
		return tp_fail(p, "expected `domain next-hop [tls=policy]'");
	if (tls_policy_parse(v + 4, n - 4, &e->tls) < 0)
		return tp_fail(p, "tls= must be none, may, must or verify");
	if (e->kind == TRANSPORT_LOCAL)
		return tp_fail(p, "tls= applies to remote next hops only");
	return 0;
}

static int tp_line(struct tabfile *tf, const char *s, size_t n)
{
	struct tp_parse *p = container_of(tf, struct tp_parse, tf);
	const char *hash = memchr(s, '#', n), *f[4];
	struct transport_entry e;
	size_t fl[4];
	int k;

	if (hash != NULL)
		n = (size_t)(hash - s);
	if ((k = tp_fields(s, n, f, fl)) == 0)
		return 0;
	if (k < 2 || k > 3)
		return tp_fail(p, "expected `domain next-hop [tls=policy]'");
	memset(&e, 0, sizeof(e));
	if ((e.key = tp_key(f[0], fl[0])) == NULL)
		return tp_fail(p, "bad domain");
	if (tp_value(p, &e, f[1], fl[1]) < 0 ||
	    (k == 3 && tp_tls(p, &e, f[2], fl[2]) < 0)) {
		free(e.key);
		return -EINVAL;
	}
	if (p->n == TRANSPORT_ENTRIES_MAX) {
		free(e.key);
		return tp_fail(p, "more than %u entries", TRANSPORT_ENTRIES_MAX);
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
	}
	p->v[p->n++] = e;
	return 0;
}

static int tp_cmp(const void *a, const void *b)
{
	return strcmp(((const struct transport_entry *)a)->key,
	    ((const struct transport_entry *)b)->key);
}

/* Sort, and refuse a domain listed twice (which line would win?). */
static int tp_finish(struct tp_parse *p)
{
	if (p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), tp_cmp);
	for (size_t i = 1; i < p->n; i++)
		if (strcmp(p->v[i - 1].key, p->v[i].key) == 0) {
			snprintf(p->tf.err, p->tf.errlen, "%s: %s listed twice",
			    p->tf.name, p->v[i].key);
			return -EINVAL;
		}
	return 0;
}

int transport_parse(struct transport *t, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	struct tp_parse p = { .tf = { .name = name, .err = err,
	    .errlen = errlen } };
	int rc;

	rc = tabfile_lines(&p.tf, text, len, TRANSPORT_FILE_MAX,
	    TRANSPORT_LINE_MAX, tp_line);
	if (rc == 0)
		rc = tp_finish(&p);
	if (rc < 0) {
		tp_entries_free(p.v, p.n);
		return rc;
	}
	transport_free(t);
	t->v = p.v;
	t->n = p.n;
	return 0;
}

int transport_load_fd(struct transport *t, int fd, const char *name,
    char *err, size_t errlen)
{
	char chunk[65536];
	struct buf b;
	off_t off = 0;
	int rc = 0;

	buf_init(&b, TRANSPORT_FILE_MAX + 1);
	for (;;) {
		ssize_t n = pread(fd, chunk, sizeof(chunk), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			rc = -EFBIG;
			break;
		}
		off += n;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", name, rc == -EFBIG ?
		    "file too large" : strerror(-rc));
	else
		rc = transport_parse(t, name, b.data ? b.data : "", b.len, err,
		    errlen);
	buf_free(&b);
	return rc;
}

int transport_load(struct transport *t, const char *path, char *err,
    size_t errlen)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = transport_load_fd(t, fd, path, err, errlen);
	close(fd);
	return rc;
}

void transport_free(struct transport *t)
{
	tp_entries_free(t->v, t->n);
	t->v = NULL;
	t->n = 0;
}

static const struct transport_entry *tp_find(const struct transport *t,
    const char *key)
{
	struct transport_entry k = { .key = (char *)(uintptr_t)key };

	if (t->n == 0)
		return NULL;
	return bsearch(&k, t->v, t->n, sizeof(*t->v), tp_cmp);
}

const struct transport_entry *transport_lookup(const struct transport *t,
    const char *domain)
{
	char low[ADDR_DOMAIN_MAX + 2];
	const struct transport_entry *e;
	size_t n = strlen(domain);

	if (t->n == 0 || n == 0 || n > ADDR_DOMAIN_MAX)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)domain[i]);
	if ((e = tp_find(t, low)) != NULL)
		return e;
	for (size_t i = 1; i < n; i++)
		if (low[i] == '.' && (e = tp_find(t, low + i)) != NULL)
			return e;
	return NULL;
}

int transport_nexthop(const struct transport_entry *e, char *out, size_t n)
{
	int w;

	if (e->kind == TRANSPORT_LOCAL)
		w = snprintf(out, n, "local");
	else if (e->tls == TLS_POLICY_DEFAULT)
		w = snprintf(out, n, "%s:%s:%u", e->kind == TRANSPORT_ADDR ?
		    "addr" : "host", e->host, e->port);
	else
		w = snprintf(out, n, "%s:%s:%u;tls=%s", e->kind ==
		    TRANSPORT_ADDR ? "addr" : "host", e->host, e->port,
		    tls_policy_name(e->tls));
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}
