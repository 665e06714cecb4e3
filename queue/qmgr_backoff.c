/* qmgr_backoff: retry arithmetic of docs/delivery-protocol.md.  The delay
 * doubles from retry_min per attempt up to retry_max; at start-up, when
 * the count of a deferred message is not remembered, it is estimated from
 * the message's age as if every attempt had run on schedule.  Pure. */
#include "queue/qmgr.h"

unsigned qm_backoff(unsigned attempts, unsigned rmin, unsigned rmax)
{
	uint64_t d = rmin;

	if (rmin > rmax)
		rmin = rmax, d = rmax;
	for (unsigned i = 1; i < attempts && d < rmax; i++)
		d *= 2;
	return d > rmax ? rmax : (unsigned)d;
}

unsigned qm_attempts_from_age(uint64_t age, unsigned rmin, unsigned rmax)
{
	uint64_t sum = 0;
	unsigned k = 0;

	if (rmax == 0)
		return 1;
	/* Doubling phase: a few dozen steps at most. */
	for (;;) {
		unsigned b = qm_backoff(k + 1, rmin, rmax);

		if (b >= rmax || sum + b > age)
			break;
		sum += b;
		k++;
	}
	/* Then every rmax seconds. */
	if (sum <= age) {
		uint64_t more = (age - sum) / rmax;

		k += more > 1000000 ? 1000000 : (unsigned)more;
	}
	return k + 1;
}
