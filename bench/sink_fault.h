/* sink_fault: mta-sink's fault injection.  A seeded PRNG (splitmix64) and
 * percentage draws, so a run with the same --seed and the same order of
 * events makes the same decisions.  Pure: no I/O, unit-tested. */
#ifndef SINK_FAULT_H
#define SINK_FAULT_H
#include <stdint.h>

struct sink_fault {
	uint64_t state;
	double defer_pct;	/* RCPT: 451 4.3.0 */
	double reject_pct;	/* RCPT: 550 5.1.1 */
	double data_reject_pct;	/* end of data: 554 5.6.0 */
	double drop_pct;	/* end of data: close without a reply */
};

enum sink_fault_rcpt {
	SINK_RCPT_OK = 0,
	SINK_RCPT_DEFER,
	SINK_RCPT_REJECT,
};

enum sink_fault_data {
	SINK_DATA_OK = 0,
	SINK_DATA_REJECT,
	SINK_DATA_DROP,
};

/* Seed the generator; percentages are left as they are. */
void sink_fault_seed(struct sink_fault *f, uint64_t seed);
/* The next 64 random bits. */
uint64_t sink_fault_next(struct sink_fault *f);
/* 1 with probability pct/100 (pct <= 0: never, pct >= 100: always). */
int sink_fault_roll(struct sink_fault *f, double pct);
/* The fate of one RCPT: one draw, defer first, then reject. */
enum sink_fault_rcpt sink_fault_rcpt(struct sink_fault *f);
/* The fate of one message at its end: drop first, then reject. */
enum sink_fault_data sink_fault_data(struct sink_fault *f);
#endif
