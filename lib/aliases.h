/* aliases: the aliases_file, "address: target, target" lines, and the
 * expansion the queue writer applies to every local recipient before a
 * message is queued (so the queue file holds final recipients and a remote
 * target is relayed by qmgr like any other).  Local targets (in
 * local_domains) are expanded again, up to ALIASES_DEPTH_MAX levels; an
 * alias that names itself among its targets delivers to its own mailbox
 * instead of looping; a true loop or too deep a chain is an error. */
#ifndef LIB_ALIASES_H
#define LIB_ALIASES_H
#include <stddef.h>

#include "lib/conf.h"

#define ALIASES_DEPTH_MAX 10
#define ALIASES_TARGETS_MAX 1000	/* final recipients of one alias */

struct aliases;			/* a loaded snapshot (opaque) */

/* Load path ("" or missing: an empty set).  0, or -errno with
 * "path:line: message" in err for a malformed file. */
int aliases_load(struct aliases **out, const char *path, char *err,
    size_t errlen);
/* Reload *a if the file changed (inode, size, mtime; checked at most once
 * per second).  1 reloaded, 0 unchanged, <0 error (*a kept, err says). */
int aliases_refresh(struct aliases **a, const char *path, char *err,
    size_t errlen);
void aliases_free(struct aliases *a);
/* 1 if address (any case) is an alias. */
int aliases_is_alias(const struct aliases *a, const char *address);
/* Expand address: emit(ctx, target) once per distinct final recipient.
 * Returns the number of targets emitted (0: not an alias, emit never
 * called), -ELOOP for a loop or a chain deeper than ALIASES_DEPTH_MAX,
 * -E2BIG for more than ALIASES_TARGETS_MAX targets, or what emit returned
 * when negative. */
int aliases_expand(const struct aliases *a, const struct conf *c,
    const char *address, int (*emit)(void *ctx, const char *target),
    void *ctx);
#endif
