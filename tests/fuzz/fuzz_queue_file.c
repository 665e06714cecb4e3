/* libFuzzer target for the queue file decoder and the journal reader
 * (queue/queue_file.c, queue/queue_journal.c): both read files that a
 * crash may have torn, so any byte string must decode or fail cleanly.  A
 * queue file that decodes must encode back to the same bytes.
 * Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "queue/queue_file.h"
#include "queue/queue_journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct journal_reader r;
	struct journal_rec rec;
	struct queue_msg m;
	struct buf again;

	memset(&m, 0, sizeof(m));
	if (queue_file_decode(in, size, &m) == 0) {
		buf_init(&again, 0);
		if (queue_file_encode(&m, &again) != 0 || again.len != size ||
		    memcmp(again.data, in, size) != 0)
			abort();
		queue_msg_free(&m);
		buf_free(&again);
	}
	journal_reader_init(&r, in, size);
	while (journal_next(&r, &rec) > 0)
		;
	return 0;
}
