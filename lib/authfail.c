/* authfail: the failed-login table; see authfail.h.  A linear scan:
 * a few thousand entries are looked at once per login attempt only. */
#include "lib/authfail.h"
#include "lib/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void authfail_init(struct authfail *t, size_t cap, unsigned limit,
    unsigned window)
{
	t->v = xcalloc(cap ? cap : 1, sizeof(*t->v));
	t->n = 0;
	t->cap = cap ? cap : 1;
	t->limit = limit;
	t->window = window;
}

void authfail_free(struct authfail *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static struct authfail_ent *find(struct authfail *t, const char *ip,
    uint64_t now)
{
	for (size_t i = 0; i < t->n; i++) {
		struct authfail_ent *e = &t->v[i];

		if (strcmp(e->ip, ip) != 0)
			continue;
		if (now >= e->first + t->window) {
			*e = t->v[--t->n];	/* expired */
			return NULL;
		}
		return e;
	}
	return NULL;
}

int authfail_blocked(struct authfail *t, const char *ip, uint64_t now)
{
	struct authfail_ent *e = find(t, ip, now);

	return e != NULL && e->count > t->limit;
}

void authfail_record(struct authfail *t, const char *ip, uint64_t now)
{
	struct authfail_ent *e = find(t, ip, now);

	if (e == NULL) {
		if (t->n == t->cap) {
			size_t old = 0;

			for (size_t i = 1; i < t->n; i++)
				if (t->v[i].last < t->v[old].last)
					old = i;
			t->v[old] = t->v[--t->n];
		}
		e = &t->v[t->n++];
		snprintf(e->ip, sizeof(e->ip), "%s", ip);
		e->count = 0;
		e->first = now;
	}
	e->count++;
	e->last = now;
}
