/* aliases: the aliases_file parser, loader and refresh; see aliases.h (the
 * expansion is in aliases_expand.c).  Strict and bounded: file size, line
 * length, entries and targets per entry are limited before anything is
 * allocated for them; NUL bytes, pipes, files, :include: and quoted local
 * parts are refused with "file:line: message".  A snapshot is immutable
 * once loaded except for the refresh bookkeeping. */
#include "lib/aliases_int.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/tabfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct al_parse {
	struct tabfile tf;
	struct al_entry *v;
	size_t n, cap;
	size_t tcap;		/* capacity of v[n - 1].targets */
};

#define al_fail(p, ...) tabfile_fail(&(p)->tf, -EINVAL, __VA_ARGS__)

int aliases_lower(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= outlen)
			return -ENAMETOOLONG;
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') :
		    s[i];
	}
	if (outlen == 0)
		return -ENAMETOOLONG;
	out[i] = '\0';
	return 0;
}

static void al_entries_free(struct al_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < v[i].n; j++)
			free(v[i].targets[j]);
		free(v[i].targets);
		free(v[i].key);
	}
	free(v);
}

static int al_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A bare local part: the dot-string (or UTF-8) grammar of RFC 5321/6531. */
static int al_bare_ok(const char *s, size_t n)
{
	char tmp[ADDR_LOCAL_MAX + 16];
	struct addr a;
	size_t end;

	if (n == 0 || n > ADDR_LOCAL_MAX)
		return 0;
	memcpy(tmp, s, n);
	memcpy(tmp + n, "@a.invalid", 10);
	return addr_parse_path(tmp, n + 10, ADDR_ALLOW_UTF8, &a, &end) ==
	    ADDR_OK && end == n + 10 && !a.is_null;
}

/* Validate one address (key or target) s[0..n) and write its canonical
 * form to out: "local@domain" with the domain lower-cased, or the bare
 * local part.  NULL, or why it is refused. */
static const char *al_address(const char *s, size_t n, char *out,
    size_t outlen)
{
	struct addr a;
	size_t end;

	if (n == 0)
		return "empty address";
	if (s[0] == '|' || s[0] == '/' || (n >= 9 &&
	    memcmp(s, ":include:", 9) == 0))
		return "pipes, files and :include: are not supported";
	if (memchr(s, '"', n) != NULL)
		return "quoted local parts are not supported";
	for (size_t i = 0; i < n; i++)
		if (al_blank(s[i]) || s[i] == ':' || s[i] == '\r')
			return "blank or ':' inside an address (missing ','?)";
	if (memchr(s, '@', n) == NULL) {
		if (!al_bare_ok(s, n))
			return "bad local part";
		snprintf(out, outlen, "%.*s", (int)n, s);
		return NULL;
	}
	if (n > ADDR_PATH_MAX || addr_parse_path(s, n, ADDR_ALLOW_UTF8, &a,
	    &end) != ADDR_OK || end != n || a.is_null || a.domain[0] == '\0')
		return "bad address";
	snprintf(out, outlen, "%s@", a.local);
	addr_domain_lower(&a, out + strlen(out), outlen - strlen(out));
	return NULL;
}

static int al_add_target(struct al_parse *p, const char *s, size_t n)
{
	struct al_entry *e = &p->v[p->n - 1];
	char canon[AL_ADDR_MAX];
	const char *why = al_address(s, n, canon, sizeof(canon));

	if (why != NULL)
		return al_fail(p, "%s: %.*s", why, (int)(n > 80 ? 80 : n), s);
	if (e->n >= ALIASES_TARGETS_MAX)
		return al_fail(p, "more than %u targets for %s",
		    ALIASES_TARGETS_MAX, e->key);
	if (e->n == p->tcap) {
		p->tcap = p->tcap ? p->tcap * 2 : 4;
		e->targets = xreallocarray(e->targets, p->tcap,
		    sizeof(*e->targets));
	}
	e->targets[e->n++] = xstrdup(canon);
	return 0;
}

/* The comma-separated targets s[0..n) for the last entry. */
static int al_targets(struct al_parse *p, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t j = comma ? (size_t)(comma - s) : n, a = i, b = j;
		int rc;

		while (a < b && al_blank(s[a]))
			a++;
		while (b > a && (al_blank(s[b - 1]) || s[b - 1] == '\r'))
			b--;
		if (b > a && (rc = al_add_target(p, s + a, b - a)) < 0)
			return rc;
		i = j + 1;
	}
	return 0;
}

/* The previous entry is complete: it must have a target. */
static int al_close_entry(struct al_parse *p)
{
	if (p->n > 0 && p->v[p->n - 1].n == 0)
		return tabfile_fail_at(&p->tf, p->v[p->n - 1].line, -EINVAL,
		    "no targets for %s", p->v[p->n - 1].key);
	return 0;
}

static int al_entry(struct al_parse *p, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n), *why;
	char canon[AL_ADDR_MAX];
	size_t kl;
	int rc;

	if (colon == NULL)
		return al_fail(p, "expected `address: target, ...'");
	kl = (size_t)(colon - s);
	while (kl > 0 && al_blank(s[kl - 1]))
		kl--;
	if ((why = al_address(s, kl, canon, sizeof(canon))) != NULL)
		return al_fail(p, "%s: %.*s", why, (int)(kl > 80 ? 80 : kl), s);
	if ((rc = al_close_entry(p)) < 0)
		return rc;
	if (p->n == ALIASES_ENTRIES_MAX)
		return al_fail(p, "more than %u aliases", ALIASES_ENTRIES_MAX);
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
	}
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	aliases_lower(canon, canon, sizeof(canon));
	p->v[p->n].key = xstrdup(canon);
	p->v[p->n++].line = p->tf.line;
	p->tcap = 0;
	return al_targets(p, colon + 1, n - (size_t)(colon - s) - 1);
}

static int al_line(struct tabfile *tf, const char *s, size_t n)
{
	struct al_parse *p = container_of(tf, struct al_parse, tf);
	size_t i = 0;

	while (i < n && (al_blank(s[i]) || s[i] == '\r'))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	if (i == 0)
		return al_entry(p, s, n);
	if (p->n == 0)
		return al_fail(p, "continuation line without an alias");
	return al_targets(p, s + i, n - i);
}

static int al_cmp(const void *a, const void *b)
{
	return strcmp(((const struct al_entry *)a)->key,
	    ((const struct al_entry *)b)->key);
}

/* Sort, and refuse a key listed twice (which line would win?). */
static int al_finish(struct al_parse *p)
{
	int rc;

	if ((rc = al_close_entry(p)) < 0)
		return rc;
	if (p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), al_cmp);
	for (size_t i = 1; i < p->n; i++)
		if (strcmp(p->v[i - 1].key, p->v[i].key) == 0) {
			const struct al_entry *x = &p->v[i - 1], *y = &p->v[i];

			return tabfile_fail_at(&p->tf, x->line > y->line ?
			    x->line : y->line, -EINVAL,
			    "%s listed twice (also on line %u)",
			    x->key, x->line > y->line ? y->line : x->line);
		}
	return 0;
}

int aliases_parse(struct aliases **out, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	struct al_parse p = { .tf = { .name = name, .err = err,
	    .errlen = errlen } };
	int rc;

	rc = tabfile_lines(&p.tf, text, len, ALIASES_FILE_MAX,
	    ALIASES_LINE_MAX, al_line);
	if (rc == 0)
		rc = al_finish(&p);
	if (rc < 0) {
		al_entries_free(p.v, p.n);
		return rc;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->v = p.v;
	(*out)->n = p.n;
	return 0;
}

/* Read the open file fd (at most ALIASES_FILE_MAX bytes) into b. */
static int al_read(int fd, struct buf *b)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (buf_append(b, chunk, (size_t)n) < 0)
			return -EFBIG;
	}
}

static void al_ident_of(struct al_ident *id, const struct stat *st)
{
	memset(id, 0, sizeof(*id));
	id->exists = 1;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtim = st->st_mtim;
}

static int al_ident_eq(const struct al_ident *a, const struct al_ident *b)
{
	return a->exists == b->exists && (!a->exists || (a->dev == b->dev &&
	    a->ino == b->ino && a->size == b->size &&
	    a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec));
}

/* Load path; *id is what was read (exists 0: missing, an empty set). */
static int al_load(struct aliases **out, const char *path,
    struct al_ident *id, char *err, size_t errlen)
{
	struct stat st;
	struct buf b;
	int fd, rc;

	memset(id, 0, sizeof(*id));
	if (path[0] == '\0')
		return aliases_parse(out, "(none)", "", 0, err, errlen);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			return aliases_parse(out, path, "", 0, err, errlen);
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = fstat(fd, &st) < 0 ? -errno : -EINVAL;
		snprintf(err, errlen, "%s: %s", path, rc == -EINVAL ?
		    "not a regular file" : strerror(-rc));
		close(fd);
		return rc;
	}
	al_ident_of(id, &st);
	buf_init(&b, ALIASES_FILE_MAX + 1);
	if ((rc = al_read(fd, &b)) < 0)
		snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ?
		    "file too large" : strerror(-rc));
	else
		rc = aliases_parse(out, path, b.data ? b.data : "", b.len,
		    err, errlen);
	buf_free(&b);
	close(fd);
	return rc;
}

static int64_t al_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec;
}

int aliases_load(struct aliases **out, const char *path, char *err,
    size_t errlen)
{
	struct aliases *a = NULL;
	struct al_ident id;
	int rc;

	if ((rc = al_load(&a, path, &id, err, errlen)) < 0)
		return rc;
	a->id = id;
	a->checked = al_now();
	*out = a;
	return 0;
}

int aliases_refresh(struct aliases **a, const char *path, char *err,
    size_t errlen)
{
	struct aliases *old = *a, *fresh = NULL;
	int64_t now = al_now();
	struct al_ident cur, got;
	struct stat st;
	int rc;

	if (old == NULL)	/* nothing loaded yet: no rate limit */
		return (rc = aliases_load(a, path, err, errlen)) < 0 ? rc : 1;
	if (old->checked == now || path[0] == '\0')
		return 0;
	old->checked = now;
	memset(&cur, 0, sizeof(cur));
	if (stat(path, &st) == 0)
		al_ident_of(&cur, &st);
	else if (errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (al_ident_eq(&cur, &old->id) || (cur.exists &&
	    al_ident_eq(&cur, &old->bad)))
		return 0;
	if ((rc = al_load(&fresh, path, &got, err, errlen)) < 0) {
		old->bad = got.exists ? got : cur;
		return rc;
	}
	fresh->id = got;
	fresh->checked = now;
	aliases_free(old);
	*a = fresh;
	return 1;
}

void aliases_free(struct aliases *a)
{
	if (a == NULL)
		return;
	al_entries_free(a->v, a->n);
	free(a);
}

size_t aliases_count(const struct aliases *a)
{
	return a == NULL ? 0 : a->n;
}

static const struct al_entry *al_bsearch(const struct aliases *a,
    const char *key)
{
	struct al_entry k = { .key = (char *)(uintptr_t)key };

	if (a == NULL || a->n == 0)
		return NULL;
	return bsearch(&k, a->v, a->n, sizeof(*a->v), al_cmp);
}

const struct al_entry *aliases_find(const struct aliases *a, const char *low)
{
	const struct al_entry *e;
	const char *at = strrchr(low, '@');
	char bare[ADDR_LOCAL_MAX * 2 + 4];
	size_t n;

	if ((e = al_bsearch(a, low)) != NULL || at == NULL)
		return e;
	n = (size_t)(at - low);
	if (n == 0 || n >= sizeof(bare))
		return NULL;
	memcpy(bare, low, n);
	bare[n] = '\0';
	return al_bsearch(a, bare);
}

int aliases_is_alias(const struct aliases *a, const char *address)
{
	char low[AL_ADDR_MAX];

	if (aliases_lower(address, low, sizeof(low)) < 0)
		return 0;
	return aliases_find(a, low) != NULL;
}
