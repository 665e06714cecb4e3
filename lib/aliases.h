/* aliases: the aliases_file, "address: target, target" lines, and the
 * expansion the queue writer applies to every local recipient before a
 * message is queued (so the queue file holds final recipients and a remote
 * target is relayed by qmgr like any other).  Local targets (in
 * local_domains) are expanded again, up to ALIASES_DEPTH_MAX levels; an
 * alias that names itself among its targets delivers to its own mailbox
 * instead of looping; a true loop or too deep a chain is an error.
 * Keys are "local@domain" or a bare "local", which stands for that local
 * part in every local domain (an exact key wins over a bare one); a bare
 * target means the local part at the domain of the address expanded.
 * Continuation lines start with blanks; '#' starts a comment line.
 * Format and semantics for users: mta.conf(5), aliases_file. */
#ifndef LIB_ALIASES_H
#define LIB_ALIASES_H
#include <stddef.h>

#include "lib/conf.h"

#define ALIASES_DEPTH_MAX 10
#define ALIASES_TARGETS_MAX 1000	/* final recipients of one alias */
#define ALIASES_LINE_MAX 4096		/* bytes of one line, LF included */
#define ALIASES_FILE_MAX (16u << 20)	/* bytes of the whole file */
#define ALIASES_ENTRIES_MAX 100000
#define ALIASES_STEPS_MAX 100000	/* targets looked at per expansion */

struct aliases;			/* a loaded snapshot (opaque) */

/* Load path ("" or missing: an empty set).  0, or -errno with
 * "path:line: message" in err for a malformed file. */
int aliases_load(struct aliases **out, const char *path, char *err,
    size_t errlen);
/* Reload *a if the file changed (inode, size, mtime; checked at most once
 * per second).  1 reloaded, 0 unchanged, <0 error (*a kept, err says; a
 * version that failed is reported once, not re-read).  *a NULL: load now. */
int aliases_refresh(struct aliases **a, const char *path, char *err,
    size_t errlen);
/* Parse text[0..len) (NULs are errors) as if read from the file "name";
 * 0, or -EINVAL with "name:line: message" in err. */
int aliases_parse(struct aliases **out, const char *name, const char *text,
    size_t len, char *err, size_t errlen);
void aliases_free(struct aliases *a);
/* Number of entries (keys). */
size_t aliases_count(const struct aliases *a);
/* 1 if address (any case) is an alias (a bare key matches its local part
 * at any domain: callers ask only about addresses in local_domains). */
int aliases_is_alias(const struct aliases *a, const char *address);
/* Expand address: emit(ctx, target) once per distinct final recipient.
 * Returns the number of targets emitted (0: not an alias, emit never
 * called), -ELOOP for a loop or a chain deeper than ALIASES_DEPTH_MAX,
 * -E2BIG for more than ALIASES_TARGETS_MAX targets (or ALIASES_STEPS_MAX
 * targets looked at), -ENAMETOOLONG if a bare target at that domain is
 * longer than a path may be, or what emit returned when negative.  Only
 * addresses in local_domains (c) are expanded; a NULL a is empty.  Targets
 * are emitted as "local@domain", the domain lower-cased. */
int aliases_expand(const struct aliases *a, const struct conf *c,
    const char *address, int (*emit)(void *ctx, const char *target),
    void *ctx);
#endif
