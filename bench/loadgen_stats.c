/* loadgen_stats: latency samples and reply counts (see loadgen_stats.h).
 * Samples grow by doubling; percentiles sort in place once at the end, so
 * taking them twice is cheap.  Nearest rank: the smallest sample with at
 * least p% of all samples at or below it. */
#include <stdlib.h>

#include "lib/mem.h"
#include "bench/loadgen_stats.h"

const char *const loadgen_stage_names[LOADGEN_ST_COUNT] = {
	"greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "eod",
	"quit",
};

void loadgen_samples_add(struct loadgen_samples *s, uint32_t us)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->us = xreallocarray(s->us, s->cap, sizeof(*s->us));
	}
	s->us[s->len++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank of percentile pct among n sorted samples (n > 0). */
static uint32_t rank(const uint32_t *v, size_t n, unsigned pct)
{
	size_t k = (n * pct + 99) / 100;	/* ceil(n * pct / 100) */

	return v[k ? k - 1 : 0];
}

void loadgen_samples_pct(struct loadgen_samples *s, struct loadgen_pct *p)
{
	p->n = s->len;
	p->p50 = p->p90 = p->p99 = p->max = 0;
	if (s->len == 0)
		return;
	qsort(s->us, s->len, sizeof(*s->us), cmp_u32);
	p->p50 = rank(s->us, s->len, 50);
	p->p90 = rank(s->us, s->len, 90);
	p->p99 = rank(s->us, s->len, 99);
	p->max = s->us[s->len - 1];
}

void loadgen_samples_free(struct loadgen_samples *s)
{
	free(s->us);
	s->us = NULL;
	s->len = s->cap = 0;
}

void loadgen_stats_reply(struct loadgen_stats *st, enum loadgen_stage stage,
    int code)
{
	int cls = code / 100;

	st->replies[stage][cls >= 1 && cls <= 5 ? cls : 0]++;
}

int loadgen_stats_failed(const struct loadgen_stats *st)
{
	int s;

	if (st->conn_errors || st->conn_timeouts || st->tls_failed)
		return 1;
	for (s = 0; s < LOADGEN_ST_COUNT; s++) {
		if (s == LOADGEN_ST_QUIT)
			continue;
		if (st->replies[s][4] || st->replies[s][5] || st->replies[s][0])
			return 1;
	}
	return 0;
}
