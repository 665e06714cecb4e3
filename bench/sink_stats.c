/* sink_stats: counters and the Message-ID set; see sink_stats.h.  The set
 * is open addressing with linear probing (FNV-1a), doubled at 1/2 load;
 * IDs are kept for the whole run, since a duplicate may come much later. */
#include "bench/sink_stats.h"
#include "lib/mem.h"

#include <stdlib.h>
#include <string.h>

void sink_stats_init(struct sink_stats *st)
{
	memset(st, 0, sizeof(*st));
}

void sink_stats_free(struct sink_stats *st)
{
	for (size_t i = 0; i < st->cap; i++)
		free(st->ids[i]);
	free(st->ids);
	for (size_t i = 0; i < st->ndups; i++)
		free(st->dups[i]);
	st->ids = NULL;
	st->cap = 0;
	st->ndups = 0;
}

static uint64_t hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

/* The slot holding id, or the empty slot where it belongs. */
static size_t slot(char **ids, size_t cap, const char *id, size_t len)
{
	size_t i = (size_t)hash(id, len) & (cap - 1);

	while (ids[i] != NULL &&
	    (strlen(ids[i]) != len || memcmp(ids[i], id, len) != 0))
		i = (i + 1) & (cap - 1);
	return i;
}

static void grow(struct sink_stats *st)
{
	size_t ncap = st->cap ? st->cap * 2 : 1024;
	char **n = xcalloc(ncap, sizeof(*n));

	for (size_t i = 0; i < st->cap; i++)
		if (st->ids[i] != NULL)
			n[slot(n, ncap, st->ids[i], strlen(st->ids[i]))] =
			    st->ids[i];
	free(st->ids);
	st->ids = n;
	st->cap = ncap;
}

int sink_stats_msgid(struct sink_stats *st, const char *id, size_t len)
{
	size_t i;

	if (len == 0) {
		st->no_msgid++;
		return 0;
	}
	if ((st->unique_ids + 1) * 2 > st->cap)
		grow(st);
	i = slot(st->ids, st->cap, id, len);
	if (st->ids[i] != NULL) {
		st->duplicate_ids++;
		if (st->ndups < SINK_STATS_DUPS_KEPT)
			st->dups[st->ndups++] = xstrndup(id, len);
		return 1;
	}
	st->ids[i] = xstrndup(id, len);
	st->unique_ids++;
	return 0;
}

/* A JSON string: the IDs come from the network, so escape everything. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

#define SINK_STATS_FIELDS(X) \
	X(connections) X(messages) X(recipients) X(bytes) \
	X(rcpt_deferred) X(rcpt_rejected) X(data_rejected) X(dropped) \
	X(timeouts) \
	X(unique_ids) X(duplicate_ids)

static void print_json(const struct sink_stats *st, FILE *f, double secs)
{
#define X(name) fprintf(f, "\"%s\":%llu,", #name, \
	(unsigned long long)st->name);
	fputc('{', f);
	SINK_STATS_FIELDS(X)
#undef X
	fprintf(f, "\"no_msgid\":%llu,", (unsigned long long)st->no_msgid);
	fprintf(f, "\"seconds\":%.3f,\"messages_per_second\":%.1f,"
	    "\"duplicates\":[", secs, secs > 0 ? st->messages / secs : 0.0);
	for (size_t i = 0; i < st->ndups; i++) {
		if (i > 0)
			fputc(',', f);
		json_str(f, st->dups[i]);
	}
	fputs("]}\n", f);
}

void sink_stats_print(const struct sink_stats *st, FILE *f, int json,
    double secs)
{
	if (json) {
		print_json(st, f, secs);
	} else {
#define X(name) fprintf(f, "%s: %llu\n", #name, \
	(unsigned long long)st->name);
		SINK_STATS_FIELDS(X)
#undef X
		fprintf(f, "messages without Message-ID: %llu\n",
		    (unsigned long long)st->no_msgid);
		fprintf(f, "seconds: %.3f\nmessages/s: %.1f\n", secs,
		    secs > 0 ? st->messages / secs : 0.0);
		for (size_t i = 0; i < st->ndups; i++)
			fprintf(f, "duplicate: %s\n", st->dups[i]);
	}
	fflush(f);
}
