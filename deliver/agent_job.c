/* agent_job: job records, the mapped queue file and per-recipient
 * results; see agent_job.h.  The file is mapped read-only and decoded
 * with queue_file_decode(); the queue manager may rewrite other status
 * fields of the same file while we read it (another job of the same
 * message), so a decode that fails is tried again a few times. */
#include "deliver/agent_job.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/numfmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define AGENT_DECODE_TRIES 3
#define AGENT_READ_MAX (256u << 10)	/* smaller queue files are read */

static int malformed(struct agent_job *j, const char *why)
{
	if (j->bad == NULL)
		j->bad = why;
	return -EINVAL;
}

/* Canonical decimal (no sign, no leading zero), at most 10 digits. */
static int parse_index(const char *v, uint32_t n, size_t *out)
{
	size_t x = 0;

	if (n == 0 || n > 10 || (n > 1 && v[0] == '0'))
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (size_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

static void add_index(struct agent_job *j, size_t idx)
{
	/* Grow by doubling: n a power of two (or 0) means full. */
	if ((j->nrcpt & (j->nrcpt - 1)) == 0)
		j->rcpts = xreallocarray(j->rcpts, j->nrcpt ? j->nrcpt * 2 : 1,
		    sizeof(*j->rcpts));
	memset(&j->rcpts[j->nrcpt], 0, sizeof(j->rcpts[0]));
	j->rcpts[j->nrcpt].idx = idx;
	j->rcpts[j->nrcpt].addr = "";
	j->nrcpt++;
	j->nleft++;
}

static void take_qid(struct agent_job *j, const char *v, uint32_t n)
{
	uint64_t q;
	char tmp[QID_LEN + 1];

	if (j->qid[0] != '\0' || n != QID_LEN) {
		malformed(j, "bad or repeated QID");
		return;
	}
	memcpy(tmp, v, QID_LEN);
	tmp[QID_LEN] = '\0';
	if (qid_parse(tmp, &q) < 0) {
		malformed(j, "bad QID");
		return;
	}
	qid_format(q, j->qid);
}

static void take_hop(struct agent_job *j, const char *v, uint32_t n,
    agent_hop_fn *hop)
{
	const char *why = "bad NEXTHOP";

	if (j->nexthop[0] != '\0' || n > AGENT_HOP_MAX) {
		malformed(j, "bad or repeated NEXTHOP");
		return;
	}
	memcpy(j->nexthop, v, n);
	j->nexthop[n] = '\0';
	if (hop(j, v, n, &why) < 0)
		malformed(j, why);
}

static const struct agent_job *sort_job;

static int by_index(const void *a, const void *b)
{
	size_t x = sort_job->rcpts[*(const size_t *)a].idx;
	size_t y = sort_job->rcpts[*(const size_t *)b].idx;

	if (x != y)
		return x < y ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* An index named twice is answered once (the queue manager must never
 * get two results for one recipient). */
static void drop_repeats(struct agent_job *j)
{
	size_t *pos, k = 0;
	unsigned char *drop;

	if (j->nrcpt < 2)
		return;
	pos = xreallocarray(NULL, j->nrcpt, sizeof(*pos));
	drop = xcalloc(j->nrcpt, 1);
	for (size_t i = 0; i < j->nrcpt; i++)
		pos[i] = i;
	sort_job = j;
	qsort(pos, j->nrcpt, sizeof(*pos), by_index);
	for (size_t i = 1; i < j->nrcpt; i++)
		if (j->rcpts[pos[i]].idx == j->rcpts[pos[i - 1]].idx)
			drop[pos[i]] = 1;
	for (size_t i = 0; i < j->nrcpt; i++)
		if (!drop[i])
			j->rcpts[k++] = j->rcpts[i];
	if (k < j->nrcpt)
		malformed(j, "repeated RCPT_IDX");
	j->nleft -= j->nrcpt - k;
	j->nrcpt = k;
	free(pos);
	free(drop);
}

int agent_job_parse(struct agent_job *j, const struct ipc_msg *m,
    size_t rcpt_max, agent_hop_fn *hop)
{
	struct ipc_iter it;
	const char *v;
	uint16_t tag;
	uint32_t n;
	size_t idx;
	int rc;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->id = m->hdr.id;
	ipc_iter_init(&it, m);
	while ((rc = ipc_next(&it, &tag, &v, &n)) == 1) {
		if (tag == IPC_A_QID)
			take_qid(j, v, n);
		else if (tag == IPC_A_NEXTHOP)
			take_hop(j, v, n, hop);
		else if (tag != IPC_A_RCPT_IDX)
			continue;	/* unknown: newer queue manager */
		else if (parse_index(v, n, &idx) < 0)
			malformed(j, "bad RCPT_IDX");
		else if (j->nrcpt >= rcpt_max || j->nrcpt >= AGENT_JOB_RCPT_MAX)
			malformed(j, "too many RCPT_IDX");
		else
			add_index(j, idx);
	}
	if (rc < 0)
		malformed(j, "malformed attributes");
	drop_repeats(j);
	if (j->qid[0] == '\0')
		malformed(j, "no QID");
	if (j->nexthop[0] == '\0')
		malformed(j, "no NEXTHOP");
	if (j->nrcpt == 0)
		malformed(j, "no RCPT_IDX");
	return j->bad ? -EINVAL : 0;
}

int agent_job_check(struct agent_job *j)
{
	char q[QID_LEN + 1];
	unsigned char *seen;

	qid_format(j->msg.qid, q);
	if (strcmp(q, j->qid) != 0)
		return malformed(j, "queue file of another message");
	seen = xcalloc(j->msg.nrcpt / 8 + 1, 1);
	for (size_t i = 0; i < j->nrcpt; i++) {
		size_t x = j->rcpts[i].idx;

		if (x >= j->msg.nrcpt) {
			malformed(j, "RCPT_IDX out of range");
			continue;
		}
		if (seen[x / 8] & (1u << (x % 8))) {
			malformed(j, "repeated RCPT_IDX");
			continue;
		}
		seen[x / 8] |= (unsigned char)(1u << (x % 8));
		j->rcpts[i].addr = j->msg.rcpts[x].addr;
		if (j->msg.rcpts[x].status != QUEUE_RCPT_PENDING)
			malformed(j, "recipient not pending");
	}
	free(seen);
	return j->bad ? -EINVAL : 0;
}

/* A small file's bytes into j->map (allocated), read again on each try:
 * a status field the queue manager rewrites while it is read is torn in
 * this copy, not in the file. */
static int job_read(struct agent_job *j, int fd)
{
	size_t got = 0;

	while (got < j->maplen) {
		ssize_t n = pread(fd, (char *)j->map + got, j->maplen - got,
		    (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* The file's bytes in j->map.  A small file is read: copying a few KiB
 * costs less than mapping it, since the munmap of every job shoots down
 * the TLB on each CPU the ring's io-wq threads ran on.  A large one is
 * mapped, not copied. */
static int job_bytes(struct agent_job *j, int fd, size_t len)
{
	j->maplen = len;
	if (len <= AGENT_READ_MAX) {
		j->map = xmalloc(len);
		return 0;
	}
	j->map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (j->map == MAP_FAILED) {
		j->map = NULL;
		return -1;
	}
	j->mapped = 1;
	return 0;
}

int agent_job_load(struct agent_job *j, int fd)
{
	struct stat st;
	int rc = -EBADMSG;

	j->fd = fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return malformed(j, "queue file descriptor unusable");
	if (job_bytes(j, fd, (size_t)st.st_size) < 0)
		return malformed(j, "cannot map the queue file");
	for (int t = 0; t < AGENT_DECODE_TRIES && rc < 0; t++) {
		if (!j->mapped && job_read(j, fd) < 0)
			return malformed(j, "cannot read the queue file");
		rc = queue_file_decode(j->map, j->maplen, &j->msg);
	}
	if (rc < 0)
		return malformed(j, "queue file does not decode");
	j->decoded = 1;
	return agent_job_check(j);
}

void agent_job_set(struct agent_job *j, size_t i, enum agent_class c,
    const char *dsn, const char *relay, const char *text)
{
	struct agent_rcpt *r = &j->rcpts[i];
	char clean[AGENT_TEXT_MAX + 1];
	size_t len = 0;

	if (r->done)
		return;
	clean[0] = '\0';
	agent_text_append(clean, &len, text, strlen(text));
	r->done = 1;
	r->cls = c;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	r->text = xstrdup(clean);
	r->relay = xstrndup(relay, strnlen(relay, AGENT_RELAY_MAX));
	j->nleft--;
	if (j->decoded && r->addr[0] != '\0')
		agent_log_status(j->qid, r->addr, r->relay,
		    agent_delay(j->msg.arrival_us, agent_now_us()), r->dsn,
		    j->tls, c, r->text);
}

void agent_job_set_rest(struct agent_job *j, enum agent_class c,
    const char *dsn, const char *relay, const char *text)
{
	for (size_t i = 0; i < j->nrcpt; i++)
		agent_job_set(j, i, c, dsn, relay, text);
}

void agent_job_encode(struct agent_job *j, struct buf *out)
{
	char num[24];
	size_t off;

	agent_job_set_rest(j, AGENT_DEFERRED, AGENT_DSN_FAILED, "none",
	    "delivery agent failed");
	for (size_t i = 0; i < j->nrcpt; i++) {
		const struct agent_rcpt *r = &j->rcpts[i];

		fmt_dec_u64(num, r->idx);
		off = ipc_begin(out, IPC_AG_RCPT, j->id);
		ipc_put_str(out, IPC_A_RCPT_IDX, num);
		ipc_put_str(out, IPC_A_CLASS, agent_class_name(r->cls));
		ipc_put_str(out, IPC_A_DSN, r->dsn);
		ipc_put_str(out, IPC_A_RELAY, r->relay);
		ipc_put_str(out, IPC_A_TEXT, r->text);
		ipc_end(out, off);
	}
	off = ipc_begin(out, IPC_AG_DONE, j->id);
	ipc_end(out, off);
}

void agent_job_free(struct agent_job *j)
{
	if (j->mapped)
		munmap(j->map, j->maplen);
	else
		free(j->map);
	j->map = NULL;
	j->mapped = 0;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	queue_msg_free(&j->msg);
	for (size_t i = 0; i < j->nrcpt; i++) {
		free(j->rcpts[i].text);
		free(j->rcpts[i].relay);
	}
	free(j->rcpts);
	j->rcpts = NULL;
	j->nrcpt = j->nleft = 0;
}
