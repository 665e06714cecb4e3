/* loadgen_report: mta-loadgen's results, as text for people or one JSON
 * object (--json) for scripts such as bench/run.  Called once at the end
 * by loadgen_run; latencies are printed in milliseconds. */
#include <stdio.h>

#include "bench/loadgen_ctx.h"

static void text_pct(FILE *f, const char *name, struct loadgen_samples *s)
{
	struct loadgen_pct p;

	loadgen_samples_pct(s, &p);
	fprintf(f, "%-22s p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms (n=%zu)\n",
	    name, p.p50 / 1e3, p.p90 / 1e3, p.p99 / 1e3, p.max / 1e3, p.n);
}

static void json_pct(FILE *f, const char *name, struct loadgen_samples *s)
{
	struct loadgen_pct p;

	loadgen_samples_pct(s, &p);
	fprintf(f, "\"%s\":{\"n\":%zu,\"p50\":%.3f,\"p90\":%.3f,"
	    "\"p99\":%.3f,\"max\":%.3f}", name, p.n, p.p50 / 1e3,
	    p.p90 / 1e3, p.p99 / 1e3, p.max / 1e3);
}

static void text(FILE *f, const struct loadgen_opts *o,
    struct loadgen_stats *st, double secs)
{
	int s;

	fprintf(f, "messages: %lu ok, %lu failed, %lu started in %.3f s\n",
	    st->ok, st->failed, st->sent, secs);
	fprintf(f, "rate: %.1f msg/s, %.1f bytes/s\n", st->ok / secs,
	    (double)st->bytes / secs);
	fprintf(f, "connections: %lu, errors %lu, timeouts %lu\n", st->conns,
	    st->conn_errors, st->conn_timeouts);
	if (st->backlog_max)
		fprintf(f, "rate: at most %lu messages started late "
		    "(all -c connections busy)\n", st->backlog_max);
	if (o->tls != LOADGEN_TLS_NONE) {
		fprintf(f, "tls: %lu handshakes (%lu resumed), %.1f/s, "
		    "%lu failed\n", st->tls_handshakes, st->tls_resumed,
		    st->tls_handshakes / secs, st->tls_failed);
		text_pct(f, "connect to TLS up:", &st->hs);
	}
	text_pct(f, "end-of-data to reply:", &st->eod);
	text_pct(f, "connect to first 250:", &st->c250);
	fprintf(f, "replies     2xx    3xx    4xx    5xx  other\n");
	for (s = 0; s < LOADGEN_ST_COUNT; s++)
		fprintf(f, "%-8s %6lu %6lu %6lu %6lu %6lu\n",
		    loadgen_stage_names[s], st->replies[s][2],
		    st->replies[s][3], st->replies[s][4], st->replies[s][5],
		    st->replies[s][0] + st->replies[s][1]);
}

static void json(FILE *f, const struct loadgen_opts *o,
    struct loadgen_stats *st, double secs)
{
	int s;

	fprintf(f, "{\"seconds\":%.3f,\"started\":%lu,\"ok\":%lu,"
	    "\"failed\":%lu,\"msgs_per_s\":%.1f,\"bytes\":%llu,"
	    "\"bytes_per_s\":%.1f,\"connections\":%lu,\"conn_errors\":%lu,"
	    "\"conn_timeouts\":%lu,\"rate_backlog_max\":%lu,"
	    "\"latency_ms\":{", secs, st->sent, st->ok, st->failed,
	    st->ok / secs, st->bytes, (double)st->bytes / secs, st->conns,
	    st->conn_errors, st->conn_timeouts, st->backlog_max);
	json_pct(f, "eod", &st->eod);
	fputc(',', f);
	json_pct(f, "connect_to_250", &st->c250);
	fputc(',', f);
	json_pct(f, "handshake", &st->hs);
	fprintf(f, "},\"tls\":{\"mode\":\"%s\",\"resume\":%s,"
	    "\"handshakes\":%lu,\"resumed\":%lu,\"failed\":%lu,"
	    "\"handshakes_per_s\":%.1f},\"replies\":{",
	    o->tls == LOADGEN_TLS_STARTTLS ? "starttls" :
	    o->tls == LOADGEN_TLS_SMTPS ? "smtps" : "none",
	    o->tls_resume ? "true" : "false", st->tls_handshakes,
	    st->tls_resumed, st->tls_failed, st->tls_handshakes / secs);
	for (s = 0; s < LOADGEN_ST_COUNT; s++)
		fprintf(f, "%s\"%s\":{\"2xx\":%lu,\"3xx\":%lu,\"4xx\":%lu,"
		    "\"5xx\":%lu,\"other\":%lu}", s ? "," : "",
		    loadgen_stage_names[s], st->replies[s][2],
		    st->replies[s][3], st->replies[s][4], st->replies[s][5],
		    st->replies[s][0] + st->replies[s][1]);
	fputs("}}\n", f);
}

void loadgen_report(FILE *f, const struct loadgen_opts *o,
    struct loadgen_stats *st, double secs)
{
	if (secs <= 0)
		secs = 1e-6;
	if (o->json)
		json(f, o, st, secs);
	else
		text(f, o, st, secs);
	fflush(f);
}
