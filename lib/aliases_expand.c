/* aliases_expand: recursive alias expansion; see aliases.h.  A depth-first
 * walk keeps the chain of aliases being expanded (a target already on the
 * chain is a loop, except the alias naming itself, which is final), a set
 * of final recipients (case-insensitive deduplication, at most
 * ALIASES_TARGETS_MAX) and a set of aliases already expanded (a diamond is
 * walked once, so the work is bounded by the file, and ALIASES_STEPS_MAX
 * bounds it again).  Nothing is kept between calls. */
#include "lib/aliases_int.h"
#include "lib/mem.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* An open-addressing set of lower-cased strings. */
struct al_set {
	char **slot;
	size_t cap, n;
};

struct al_exp {
	const struct aliases *a;
	const struct conf *c;
	int (*emit)(void *ctx, const char *target);
	void *ctx;
	struct al_set finals, done;
	char chain[ALIASES_DEPTH_MAX][AL_ADDR_MAX];
	unsigned steps;
	int count;
};

static size_t al_hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static char **al_set_slot(const struct al_set *t, const char *s)
{
	size_t i = al_hash(s) & (t->cap - 1);

	while (t->slot[i] != NULL && strcmp(t->slot[i], s) != 0)
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static int al_set_has(const struct al_set *t, const char *s)
{
	return t->cap > 0 && *al_set_slot(t, s) != NULL;
}

static void al_set_add(struct al_set *t, const char *s)
{
	if (2 * (t->n + 1) > t->cap) {
		struct al_set g = { .cap = t->cap ? t->cap * 2 : 32 };

		g.slot = xcalloc(g.cap, sizeof(*g.slot));
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i] != NULL)
				*al_set_slot(&g, t->slot[i]) = t->slot[i];
		free(t->slot);
		g.n = t->n;
		*t = g;
	}
	*al_set_slot(t, s) = xstrdup(s);
	t->n++;
}

static void al_set_free(struct al_set *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
}

/* A final recipient: emitted unless already seen. */
static int al_final(struct al_exp *x, const char *addr)
{
	char low[AL_ADDR_MAX];
	int rc;

	if (aliases_lower(addr, low, sizeof(low)) < 0)
		return -ENAMETOOLONG;
	if (al_set_has(&x->finals, low))
		return 0;
	if (x->finals.n >= ALIASES_TARGETS_MAX)
		return -E2BIG;
	al_set_add(&x->finals, low);
	if ((rc = x->emit(x->ctx, addr)) < 0)
		return rc;
	x->count++;
	return 0;
}

/* Target t of an alias at domain dom, as a full address in out. */
static int al_resolve(const char *t, const char *dom, char *out, size_t n)
{
	int w;

	if (strchr(t, '@') != NULL)
		w = snprintf(out, n, "%s", t);
	else
		w = snprintf(out, n, "%s@%s", t, dom);
	return w < 0 || (size_t)w >= n || (size_t)w > ADDR_PATH_MAX - 2 ?
	    -ENAMETOOLONG : 0;
}

static int al_visit(struct al_exp *x, const char *addr, size_t depth);

/* The targets of alias e, which addr named (chain[depth], lower-cased). */
static int al_targets(struct al_exp *x, const struct al_entry *e,
    const char *addr, size_t depth)
{
	const char *dom = strrchr(x->chain[depth], '@') + 1;
	char t[AL_ADDR_MAX];
	int rc;

	for (uint32_t i = 0; i < e->n; i++) {
		const char *tdom;

		if (++x->steps > ALIASES_STEPS_MAX)
			return -E2BIG;
		if ((rc = al_resolve(e->targets[i], dom, t, sizeof(t))) < 0)
			return rc;
		tdom = strrchr(t, '@') + 1;
		if (strcasecmp(t, addr) == 0 ||
		    !conf_is_local_domain(x->c, tdom))
			rc = al_final(x, t);
		else
			rc = al_visit(x, t, depth + 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int al_visit(struct al_exp *x, const char *addr, size_t depth)
{
	const struct al_entry *e;
	char low[AL_ADDR_MAX];
	int rc;

	if (aliases_lower(addr, low, sizeof(low)) < 0)
		return -ENAMETOOLONG;
	if ((e = aliases_find(x->a, low)) == NULL)
		return al_final(x, addr);
	if (al_set_has(&x->done, low))
		return 0;
	for (size_t i = 0; i < depth; i++)
		if (strcmp(x->chain[i], low) == 0)
			return -ELOOP;
	if (depth >= ALIASES_DEPTH_MAX)
		return -ELOOP;
	memcpy(x->chain[depth], low, strlen(low) + 1);
	if ((rc = al_targets(x, e, addr, depth)) < 0)
		return rc;
	al_set_add(&x->done, low);
	return 0;
}

int aliases_expand(const struct aliases *a, const struct conf *c,
    const char *address, int (*emit)(void *ctx, const char *target),
    void *ctx)
{
	struct al_exp *x;
	char low[AL_ADDR_MAX];
	const char *at = strrchr(address, '@');
	int rc;

	if (a == NULL || a->n == 0 || at == NULL ||
	    !conf_is_local_domain(c, at + 1) ||
	    aliases_lower(address, low, sizeof(low)) < 0 ||
	    aliases_find(a, low) == NULL)
		return 0;
	x = xcalloc(1, sizeof(*x));
	x->a = a;
	x->c = c;
	x->emit = emit;
	x->ctx = ctx;
	rc = al_visit(x, address, 0);
	if (rc == 0)
		rc = x->count;
	al_set_free(&x->finals);
	al_set_free(&x->done);
	free(x);
	return rc;
}
