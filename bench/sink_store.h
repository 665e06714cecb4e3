/* sink_store: --store DIR for mta-sink.  Writes one message to
 * DIR/<n>.eml entirely on the ring (openat DIR/<n>.tmp, write until done,
 * fsync, close, rename) so the loop never blocks and DIR never shows a
 * partial message; the owner replies 250 only after done
 * reports success, like a durable receiver. */
#ifndef SINK_STORE_H
#define SINK_STORE_H
#include <stdint.h>

#include "lib/buf.h"
#include "lib/ev.h"

struct sink_store;
typedef void (*sink_store_fn)(struct sink_store *st, int err);

struct sink_store {
	struct ev_op op;
	struct ev_loop *loop;
	int step, fd, err;
	struct buf data;	/* owned while the job runs */
	size_t off;
	char path[4096], tmp[4096];
	sink_store_fn done;	/* err: 0 or -errno */
};

/* Store msg (taken over) as dir/<n>.eml; done runs once, later. */
void sink_store_start(struct sink_store *st, struct ev_loop *loop,
    const char *dir, uint64_t n, struct buf *msg, sink_store_fn done);
#endif
