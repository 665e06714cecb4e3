/* loadgen_stats: what mta-loadgen measures.  Latency samples (microseconds,
 * all kept: a few bytes per message) with nearest-rank percentiles, and
 * reply counts per SMTP stage and class.  Pure; loadgen_run fills it and
 * loadgen_report prints it. */
#ifndef BENCH_LOADGEN_STATS_H
#define BENCH_LOADGEN_STATS_H
#include <stddef.h>
#include <stdint.h>

enum loadgen_stage {
	LOADGEN_ST_GREETING, LOADGEN_ST_EHLO, LOADGEN_ST_STARTTLS,
	LOADGEN_ST_AUTH, LOADGEN_ST_MAIL, LOADGEN_ST_RCPT, LOADGEN_ST_DATA,
	LOADGEN_ST_EOD, LOADGEN_ST_QUIT, LOADGEN_ST_COUNT
};

struct loadgen_samples {
	uint32_t *us;
	size_t len, cap;
};

struct loadgen_pct {
	uint32_t p50, p90, p99, max;
	size_t n;
};

struct loadgen_stats {
	struct loadgen_samples eod;	/* end-of-data to its reply */
	struct loadgen_samples c250;	/* connect to the first 250 */
	struct loadgen_samples hs;	/* connect to the TLS handshake's end */
	unsigned long replies[LOADGEN_ST_COUNT][6];	/* class 0..5 */
	unsigned long conn_errors, conn_timeouts, conns;
	unsigned long sent, ok, failed;	/* messages */
	unsigned long long bytes;	/* message bytes accepted */
	unsigned long backlog_max;	/* --rate: most messages overdue */
	unsigned long tls_handshakes, tls_resumed, tls_failed;
};

/* Stage names for reports, indexed by enum loadgen_stage. */
extern const char *const loadgen_stage_names[LOADGEN_ST_COUNT];

/* Add one sample (microseconds). */
void loadgen_samples_add(struct loadgen_samples *s, uint32_t us);
/* Sort the samples and compute p50/p90/p99/max (nearest rank). */
void loadgen_samples_pct(struct loadgen_samples *s, struct loadgen_pct *p);
/* Free the samples. */
void loadgen_samples_free(struct loadgen_samples *s);
/* Count a reply code for a stage (classes outside 1..5 count as 0). */
void loadgen_stats_reply(struct loadgen_stats *st, enum loadgen_stage stage,
    int code);
/* 1 if a reply other than 2xx/3xx was seen where success was expected or
 * a connection failed: the run's exit status. */
int loadgen_stats_failed(const struct loadgen_stats *st);
#endif
