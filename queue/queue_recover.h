/* queue_recover: start-up recovery of the spool, run by the queue writer
 * before it accepts clients (blocking; no ring yet).  Replays every journal
 * segment, rewrites queue files that are missing or damaged, removes
 * unpublished temp files, moves undecodable files to corrupt/, makes it all
 * durable with one syncfs and deletes the replayed segments.  Idempotent:
 * a crash at any point followed by another run gives the same state. */
#ifndef QUEUE_QUEUE_RECOVER_H
#define QUEUE_QUEUE_RECOVER_H
#include <stdint.h>

#define QUEUE_RECOVER_SCAN 0x1	/* also check every file in incoming/ */

struct queue_recover_stats {
	unsigned segments;	/* journal segments replayed */
	unsigned records;	/* valid image records seen */
	unsigned rewritten;	/* queue files (re)created from the journal */
	unsigned present;	/* records whose queue file was intact */
	unsigned torn;		/* segments that ended in a torn record */
	unsigned bad;		/* records with a valid CRC that did not decode */
	unsigned tmp_removed;	/* unpublished files removed from tmp/ */
	unsigned scanned;	/* incoming/ files checked */
	unsigned corrupt;	/* files moved to corrupt/ */
	uint64_t max_qid;	/* highest queue ID seen */
	double elapsed_ms;
};

/* Recover the spool at spool (created if missing).  Logs a summary line.
 * 0, or -errno when the spool cannot be made consistent. */
int queue_recover(const char *spool, unsigned flags,
    struct queue_recover_stats *st);
/* Check every queue file in incoming/ and move the undecodable ones to
 * corrupt/ (the part of recovery that may run after start-up, in a helper
 * thread: by then the journal has been replayed).  Raises st->max_qid but
 * leaves qid_seen() to the caller's thread.  0 or -errno. */
int queue_recover_scan(const char *spool, struct queue_recover_stats *st);
#endif
