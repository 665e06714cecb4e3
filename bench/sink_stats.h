/* sink_stats: mta-sink's counters and its set of Message-IDs (to detect
 * loss and duplicates), and the report printed on SIGUSR1 and at exit,
 * as text or one JSON object.  Single-threaded: the sink has one loop. */
#ifndef SINK_STATS_H
#define SINK_STATS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SINK_STATS_DUPS_KEPT 10	/* duplicate IDs named in the report */

struct sink_stats {
	uint64_t connections, messages, recipients, bytes;
	uint64_t rcpt_deferred, rcpt_rejected, data_rejected, dropped;
	uint64_t timeouts;	/* idle clients closed with 421 */
	uint64_t no_msgid, unique_ids, duplicate_ids;
	char **ids;		/* open addressing; NULL: empty slot */
	size_t cap;		/* power of two */
	char *dups[SINK_STATS_DUPS_KEPT];
	size_t ndups;
};

/* Start empty. */
void sink_stats_init(struct sink_stats *st);
/* Free the ID set. */
void sink_stats_free(struct sink_stats *st);
/* Record an accepted message's Message-ID (id[0..len), len 0: none).
 * Returns 1 if it was seen before, else 0. */
int sink_stats_msgid(struct sink_stats *st, const char *id, size_t len);
/* Print the counters to f: "name: value" lines, or JSON if json. */
void sink_stats_print(const struct sink_stats *st, FILE *f, int json,
    double seconds);
#endif
