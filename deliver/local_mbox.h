/* local_mbox: the mailboxes the local agent delivers to, kept in a hash by
 * Maildir path while in use (and up to LOCAL_MBOX_MAX idle ones, for their
 * quota figures).  Quota: the sum of the S= sizes in new/ and cur/, scanned
 * again only when a directory's mtime is not the one we last saw (our own
 * renames update the figure and the remembered mtime); deliveries in
 * flight reserve their size.  Durability: a rename into new/ counts only
 * after an fsync of new/ that started after it; one fsync on the ring
 * covers every rename queued before it (batching). */
#ifndef DELIVER_LOCAL_MBOX_H
#define DELIVER_LOCAL_MBOX_H
#include <stdint.h>

#include "deliver/local.h"

/* The mailbox at path (a Maildir path), created in the table if new; a
 * reference is taken.  Never NULL. */
struct local_mbox *local_mbox_get(struct local *lo, const char *path);
/* Drop a reference (the entry may be forgotten when idle). */
void local_mbox_put(struct local *lo, struct local_mbox *mb);
/* Create the Maildir (tmp/ new/ cur/) once.  0 or -errno. */
int local_mbox_ready(struct local *lo, struct local_mbox *mb);
/* Reserve size bytes under quota (0: no quota).  0, -EDQUOT when over,
 * or -errno when the mailbox cannot be scanned. */
int local_mbox_reserve(struct local_mbox *mb, uint64_t size, uint64_t quota);
/* A reservation ends: delivered (a rename into new/ happened) or not. */
void local_mbox_release(struct local_mbox *mb, uint64_t size, int delivered);
/* Bytes counted for quota (usage + reserved) after a rescan if needed.
 * 0 or -errno. */
int local_mbox_usage(struct local_mbox *mb, uint64_t *out);
/* d renamed into new/: report it once an fsync of new/ is done. */
void local_mbox_sync(struct local *lo, struct local_mbox *mb,
    struct local_dlv *d);
/* Free every mailbox (exit; the ring is gone). */
void local_mbox_exit(struct local *lo);
#endif
