/* master_backoff: how long to wait before restarting a daemon that died.
 * 1 s, doubling to 60 s, so a daemon that cannot start does not spin; a
 * daemon that ran healthily for 60 s starts over at 1 s.  Pure; the
 * supervisor (master_child.c) keeps the previous delay per slot. */
#include "master/master.h"

unsigned master_backoff_next(unsigned prev, long long ran_ms)
{
	if (prev == 0 || ran_ms >= (long long)MASTER_HEALTHY_SEC * 1000)
		return MASTER_BACKOFF_MIN;
	if (prev >= MASTER_BACKOFF_MAX / 2)
		return MASTER_BACKOFF_MAX;
	return prev * 2;
}
