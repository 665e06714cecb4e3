/* local_dlv: one recipient's Maildir delivery on the ring.  The checks
 * first (account or postmaster, delivery loop, quota), then: open a unique
 * file in tmp/ (0600, O_EXCL), write Return-Path:, Delivered-To: and the
 * content with LF endings in chunks, fsync, close, rename into new/ under
 * its final name (S= and W=, RENAME_NOREPLACE), and report "sent" only
 * after an fsync of new/ (local_mbox_sync).  Any failure before the
 * rename removes the temp file and defers the recipient. */
#ifndef DELIVER_LOCAL_DLV_H
#define DELIVER_LOCAL_DLV_H
#include <stddef.h>
#include <stdint.h>

#include "deliver/local.h"

enum local_dstate {
	LD_OPEN,		/* openat tmp/ in flight */
	LD_WRITE,
	LD_FSYNC,
	LD_CLOSE,
	LD_RENAME,
	LD_SYNC,		/* waiting for the fsync of new/ */
	LD_CLEANUP_CLOSE,	/* failed: closing ... */
	LD_CLEANUP_UNLINK,	/* ... and removing the temp file */
};

struct local_dlv {
	struct local *lo;
	struct local_job *job;		/* NULL: aborted, results unwanted */
	size_t ri;			/* recipient index in the job */
	struct local_mbox *mb;
	struct local_dlv *next, *prev;	/* lo->dlvs */
	struct local_dlv *snext;	/* the mailbox's sync list */
	struct ev_op op;
	enum local_dstate state;
	int fd;
	uint64_t usec, seq;		/* of the unique name */
	uint64_t size, wire;		/* S= (known up front), W= (counted) */
	uint64_t foff;			/* file offset of the next write */
	size_t src_off;			/* content bytes converted so far */
	struct buf chunk;		/* bytes being written */
	size_t chunk_off;
	struct maildir_wire mw;
	int err;			/* first error (-errno), 0: none */
	const char *err_step;
	unsigned reserved : 1;		/* size reserved in the mailbox */
	char tmp[LOCAL_PATH_MAX];	/* .../Maildir/tmp/NAME */
	char dst[LOCAL_PATH_MAX];	/* .../Maildir/new/NAME,S=..,W=.. */
};

/* Check and start the delivery of recipient ri of j.  1 when a delivery
 * is in flight (it ends with local_run_result), 0 when the recipient got
 * its result at once (unknown user, loop, quota, errors). */
int local_dlv_start(struct local *lo, struct local_job *j, size_t ri);
/* The fsync of new/ after d's rename is over (res: 0 or -errno). */
void local_dlv_synced(struct local_dlv *d, int res);
/* The job's results are no longer wanted (link lost, stop): its
 * deliveries finish their current step and clean up. */
void local_dlv_abort_job(struct local *lo, struct local_job *j);
/* Free every delivery (exit; the ring is gone). */
void local_dlv_free_all(struct local *lo);
/* The outcome of a recipient's checks before any I/O: 0 go on, else the
 * result was set.  Exposed for tests. */
int local_dlv_check(struct local *lo, struct local_job *j, size_t ri);
#endif
