/* queue_spool: the spool directory tree (state_dir/spool): the names of its
 * directories and their creation at start-up.  Queue files live hashed in
 * 256 subdirectories (lib/qid.h); journal/, tmp/ and pool/ are flat.
 * pool/ holds finished queue files the queue manager recycles and the
 * writer overwrites (qmgr_pool.c, qwriter_pool.c); nothing there is mail. */
#ifndef QUEUE_QUEUE_SPOOL_H
#define QUEUE_QUEUE_SPOOL_H
#include <stddef.h>

#define QUEUE_DIR_JOURNAL "journal"
#define QUEUE_DIR_INCOMING "incoming"
#define QUEUE_DIR_DEFERRED "deferred"
#define QUEUE_DIR_HOLD "hold"
#define QUEUE_DIR_CORRUPT "corrupt"
#define QUEUE_DIR_TMP "tmp"
#define QUEUE_DIR_POOL "pool"	/* finished files kept for reuse */

/* "state_dir/spool" into out; 0 or -ENAMETOOLONG. */
int queue_spool_path(const char *state_dir, char *out, size_t n);
/* Create the spool and every (hashed) directory that is missing (mode
 * 0700, blocking: start-up only).  0 or -errno. */
int queue_spool_init(const char *spool);
#endif
