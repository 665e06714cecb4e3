/* sink_fault: seeded fault decisions for mta-sink; see sink_fault.h.
 * splitmix64 is small, fast and well distributed enough for percentages;
 * a draw is the top 53 bits scaled to [0, 100). */
#include "bench/sink_fault.h"

void sink_fault_seed(struct sink_fault *f, uint64_t seed)
{
	f->state = seed;
}

uint64_t sink_fault_next(struct sink_fault *f)
{
	uint64_t z = (f->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 100). */
static double draw(struct sink_fault *f)
{
	return (double)(sink_fault_next(f) >> 11) * (100.0 / 9007199254740992.0);
}

int sink_fault_roll(struct sink_fault *f, double pct)
{
	if (pct <= 0)
		return 0;
	if (pct >= 100)
		return 1;
	return draw(f) < pct;
}

enum sink_fault_rcpt sink_fault_rcpt(struct sink_fault *f)
{
	double x;

	if (f->defer_pct <= 0 && f->reject_pct <= 0)
		return SINK_RCPT_OK;
	x = draw(f);
	if (x < f->defer_pct)
		return SINK_RCPT_DEFER;
	if (x < f->defer_pct + f->reject_pct)
		return SINK_RCPT_REJECT;
	return SINK_RCPT_OK;
}

enum sink_fault_data sink_fault_data(struct sink_fault *f)
{
	double x;

	if (f->drop_pct <= 0 && f->data_reject_pct <= 0)
		return SINK_DATA_OK;
	x = draw(f);
	if (x < f->drop_pct)
		return SINK_DATA_DROP;
	if (x < f->drop_pct + f->data_reject_pct)
		return SINK_DATA_REJECT;
	return SINK_DATA_OK;
}
