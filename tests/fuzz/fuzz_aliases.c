/* libFuzzer target for the aliases_file parser and the expansion
 * (lib/aliases.c, lib/aliases_expand.c): parse any bytes; on success every
 * key is an alias again, and expanding a few addresses (any of the keys
 * among them) ends in a count or -ELOOP/-E2BIG/-ENAMETOOLONG, never a
 * crash, and never emits one target twice.  Built by tests/fuzz/run. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/aliases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	char v[ALIASES_TARGETS_MAX][512];
	size_t n;
};

static int emit(void *ctx, const char *t)
{
	struct seen *s = ctx;

	if (s->n >= ALIASES_TARGETS_MAX || strlen(t) >= sizeof(s->v[0]))
		abort();
	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(s->v[i], t) == 0)
			abort();
	memcpy(s->v[s->n++], t, strlen(t) + 1);
	return 0;
}

static void expand(const struct aliases *a, const struct conf *c,
    const char *addr)
{
	static struct seen s;
	int rc;

	s.n = 0;
	rc = aliases_expand(a, c, addr, emit, &s);
	if (rc < 0 && rc != -ELOOP && rc != -E2BIG && rc != -ENAMETOOLONG)
		abort();
	if (rc >= 0 && (size_t)rc != s.n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ctext[] = "local_domains = a, b.example\n";
	static struct conf c;
	static int once;
	struct aliases *a = NULL;
	char err[512];

	if (!once) {
		if (conf_load_string(&c, "c", ctext, sizeof(ctext) - 1, err,
		    sizeof(err)) < 0)
			abort();
		once = 1;
	}
	if (aliases_parse(&a, "fuzz", (const char *)data, size, err,
	    sizeof(err)) < 0) {
		if (strncmp(err, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	expand(a, &c, "a@a");
	expand(a, &c, "b@b.example");
	expand(a, &c, "x@a");
	aliases_free(a);
	return 0;
}
