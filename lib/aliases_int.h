/* aliases_int: the loaded snapshot's layout, shared by the parser and
 * loader (aliases.c) and the expansion (aliases_expand.c).  Private to
 * lib/aliases*.c; programs include aliases.h only.  Keys are lower-cased
 * and sorted; targets are stored once per entry as written (domain
 * lower-cased; a bare local part has no '@'). */
#ifndef LIB_ALIASES_INT_H
#define LIB_ALIASES_INT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/aliases.h"
#include "lib/addr.h"

/* Room for any address the module handles (quoted local parts doubled). */
#define AL_ADDR_MAX (ADDR_LOCAL_MAX * 2 + 3 + 1 + ADDR_DOMAIN_MAX + 1)

struct al_entry {
	char *key;		/* "local@domain" or bare "local", lower-cased */
	char **targets;
	uint32_t n;
	unsigned line;		/* where it was defined (messages) */
};

/* The file a snapshot was read from (all zero: none or missing). */
struct al_ident {
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
};

struct aliases {
	struct al_entry *v;	/* sorted by key */
	size_t n;
	struct al_ident id;	/* what was loaded */
	struct al_ident bad;	/* a version that failed to load: not retried */
	int64_t checked;	/* CLOCK_MONOTONIC second of the last stat */
};

/* The entry for an address already lower-cased: the exact key, else the
 * bare local part; NULL if none. */
const struct al_entry *aliases_find(const struct aliases *a, const char *low);
/* ASCII lower-case copy of s into out[outlen]; -ENAMETOOLONG if short. */
int aliases_lower(const char *s, char *out, size_t outlen);
#endif
