/* qid: queue IDs.  16 upper-case hex digits: microseconds since the epoch
 * shifted left 12 bits plus a sequence, so IDs sort by arrival time, are
 * unique within the one process that assigns them (the queue writer), and
 * are safe as file names.  Messages are hashed into 256 subdirectories. */
#ifndef LIB_QID_H
#define LIB_QID_H
#include <stdint.h>

#define QID_LEN 16

/* A new ID, strictly greater than any returned before by this process. */
uint64_t qid_next(void);
/* Make later IDs greater than v (after recovery saw v on disk). */
void qid_seen(uint64_t v);
/* Format into out[QID_LEN + 1]. */
void qid_format(uint64_t v, char out[QID_LEN + 1]);
/* Parse exactly QID_LEN hex digits; 0 or -EINVAL. */
int qid_parse(const char *s, uint64_t *v);
/* The two-hex-digit subdirectory of an ID, into out[3]. */
void qid_hash_dir(uint64_t v, char out[3]);
#endif
