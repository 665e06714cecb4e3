/* qid: time-ordered queue IDs; see qid.h. */
#include "lib/qid.h"
#include "lib/numfmt.h"

#include <errno.h>
#include <time.h>

static uint64_t qid_last;

uint64_t qid_next(void)
{
	struct timespec ts;
	uint64_t v;

	clock_gettime(CLOCK_REALTIME, &ts);
	v = ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000) << 12;
	if (v <= qid_last)
		v = qid_last + 1;
	qid_last = v;
	return v;
}

void qid_seen(uint64_t v)
{
	if (v > qid_last)
		qid_last = v;
}

void qid_format(uint64_t v, char out[QID_LEN + 1])
{
	fmt_hex(out, v, QID_LEN);
}

int qid_parse(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	for (int i = 0; i < QID_LEN; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		r = r << 4 | d;
	}
	if (s[QID_LEN] != '\0')
		return -EINVAL;
	*v = r;
	return 0;
}

void qid_hash_dir(uint64_t v, char out[3])
{
	/* Microsecond bits vary fastest among the time bits. */
	fmt_hex(out, v >> 12, 2);
}
