/* qmgr_msg: messages in the active set.  A queue file is opened O_RDWR
 * (the status fields are rewritten in place), read into one reusable
 * buffer and decoded strictly: memory keeps only the envelope, never the
 * content.  A
 * file that does not decode goes to corrupt/ with a log line.  At the
 * start of an attempt every pending recipient is routed and the recipients
 * are grouped into jobs per next hop (qmgr_route.c). */
#include "queue/qmgr.h"
#include "queue/queue_file.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t msg_bucket(const struct qm *qm, uint64_t qid)
{
	return (size_t)((qid * 0x9E3779B97F4A7C15ull) >> 20) &
	    (qm->mtabsize - 1);
}

struct qm_msg *qm_msg_find(struct qm *qm, uint64_t qid)
{
	struct qm_msg *m;

	for (m = qm->mtab[msg_bucket(qm, qid)]; m != NULL; m = m->hnext)
		if (m->qid == qid)
			return m;
	return NULL;
}

int qm_room(const struct qm *qm)
{
	return qm->nactive < qm->limit && !qm->stopping;
}

static void msg_link(struct qm *qm, struct qm_msg *m)
{
	size_t b = msg_bucket(qm, m->qid);

	m->hnext = qm->mtab[b];
	qm->mtab[b] = m;
	m->prev = NULL;
	m->next = qm->msgs;
	if (m->next != NULL)
		m->next->prev = m;
	qm->msgs = m;
	m->flags |= QM_M_ACTIVE;
	qm->nactive++;
}

void qm_msg_unlink(struct qm *qm, struct qm_msg *m)
{
	struct qm_msg **pp = &qm->mtab[msg_bucket(qm, m->qid)];

	while (*pp != NULL && *pp != m)
		pp = &(*pp)->hnext;
	if (*pp == m)
		*pp = m->hnext;
	if (m->prev != NULL)
		m->prev->next = m->next;
	else if (qm->msgs == m)
		qm->msgs = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	m->prev = m->next = m->hnext = NULL;
	if (m->flags & QM_M_ACTIVE)
		qm->nactive--;
	m->flags &= ~QM_M_ACTIVE;
}

/* Move an undecodable file to corrupt/XX/QID (never over another). */
static void msg_quarantine(struct qm *qm, enum qm_dir dir, const char *rel,
    const char *id)
{
	if (renameat2(qm->dirfd[dir], rel, qm->dirfd[QM_CORRUPT], rel,
	    RENAME_NOREPLACE) == 0)
		log_warn("%s: corrupt queue file moved to corrupt/%s", id, rel);
	else
		log_warn("%s: corrupt queue file; cannot move it to corrupt/: "
		    "%s", id, strerror(errno));
}

/* Copy what the queue manager needs out of the decoded file. */
static struct qm_msg *msg_from(const struct queue_msg *q, enum qm_dir dir,
    int fd, const char *rel)
{
	struct qm_msg *m = xcalloc(1, sizeof(*m));

	m->qid = q->qid;
	qid_format(q->qid, m->id);
	snprintf(m->rel, sizeof(m->rel), "%s", rel);
	m->dir = dir;
	m->fd = fd;
	m->arrival_us = q->arrival_us;
	m->size = q->content_len;
	m->sender = xstrdup(q->sender);
	m->body = xstrdup(q->body);
	m->smtputf8 = q->smtputf8;
	m->nrcpt = q->nrcpt;
	m->rcpts = xcalloc(q->nrcpt, sizeof(*m->rcpts));
	for (size_t i = 0; i < q->nrcpt; i++) {
		struct qm_rcpt *r = &m->rcpts[i];

		r->addr = xstrdup(q->rcpts[i].addr);
		r->status_off = q->rcpts[i].status_off;
		r->state = q->rcpts[i].status == QUEUE_RCPT_PENDING ?
		    QM_R_IDLE : QM_R_DONE;
	}
	return m;
}

/* Read fd whole into qm->rbuf (pread: no mapping to tear down) and
 * decode it; 0, -EBADMSG or -errno.  Strings of q are allocated. */
static int msg_decode(struct qm *qm, int fd, struct queue_msg *q)
{
	struct buf *b = &qm->rbuf;
	int rc = 0;

	buf_reset(b);
	for (;;) {
		ssize_t n;

		if (b->cap - b->len < 4096 && buf_reserve(b, b->cap < 65536 ?
		    65536 : b->cap) < 0)
			return -EFBIG;
		n = pread(fd, b->data + b->len, b->cap - b->len, (off_t)b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	if (b->len == 0)
		rc = -EBADMSG;
	else
		rc = queue_file_decode(b->data, b->len, q);
	if (b->cap > (4u << 20))
		buf_free(b);	/* one huge message: do not keep its size */
	return rc;
}

static void msg_attempts(struct qm *qm, struct qm_msg *m)
{
	struct qm_hist *h = qm_hist_get(qm, m->qid);
	uint64_t now = (uint64_t)qm_now(), arr = m->arrival_us / 1000000u;

	if (h != NULL) {
		m->attempts = h->attempts + 1;
		if (h->warned)
			m->flags |= QM_M_WARNED;
	} else if (m->dir == QM_INCOMING) {
		m->attempts = 1;
	} else {
		m->attempts = qm_attempts_from_age(now > arr ? now - arr : 0,
		    qm->conf->retry_min, qm->conf->retry_max);
	}
}

int qm_msg_load(struct qm *qm, enum qm_dir dir, uint64_t qid, int force,
    struct qm_msg **out)
{
	char rel[QID_LEN + 4], id[QID_LEN + 1], xx[3];
	struct queue_msg q;
	struct qm_msg *m;
	int fd, rc;

	if (qm_msg_find(qm, qid) != NULL)
		return -EEXIST;
	if (!force && !qm_room(qm))
		return -EAGAIN;
	qid_format(qid, id);
	qid_hash_dir(qid, xx);
	snprintf(rel, sizeof(rel), "%s/%s", xx, id);
	fd = openat(qm->dirfd[dir], rel, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	rc = msg_decode(qm, fd, &q);
	if (rc == 0 && q.qid != qid) {
		queue_msg_free(&q);
		rc = -EBADMSG;
	}
	if (rc < 0) {
		close(fd);
		if (rc == -EBADMSG)
			msg_quarantine(qm, dir, rel, id);
		else
			log_warn("%s: cannot read the queue file: %s", id,
			    strerror(-rc));
		return rc;
	}
	m = msg_from(&q, dir, fd, rel);
	queue_msg_free(&q);
	msg_attempts(qm, m);
	if (dir == QM_INCOMING && m->attempts == 1) {
		m->flags |= QM_M_FRESH;
		qm->st.received++;
	}
	msg_link(qm, m);
	if (out != NULL)
		*out = m;
	return 0;
}

/* "delay=" value: seconds since arrival. */
static double msg_delay(const struct qm_msg *m)
{
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	now -= (double)m->arrival_us / 1e6;
	return now < 0 ? 0 : now;
}

void qm_msg_log_rcpt(const struct qm_msg *m, const struct qm_rcpt *r,
    const char *dsn, const char *status, const char *text)
{
	log_info("%s: to=<%s>, relay=none, delay=%.2f, dsn=%s, status=%s (%s)",
	    m->id, r->addr, msg_delay(m), dsn, status, text);
}

/* Split "X.Y.Z text" into the code (into dsn) and the text. */
static const char *msg_split_dsn(const char *s, char dsn[QM_DSN_CODE_MAX + 1])
{
	size_t n = strcspn(s, " ");

	if (n < 5 || n > QM_DSN_CODE_MAX || s[1] != '.') {
		snprintf(dsn, QM_DSN_CODE_MAX + 1, "4.0.0");
		return s;
	}
	memcpy(dsn, s, n);
	dsn[n] = '\0';
	return s[n] == ' ' ? s + n + 1 : s + n;
}

void qm_msg_defer_rcpt(struct qm *qm, struct qm_msg *m, struct qm_rcpt *r,
    const char *dsn_text)
{
	const char *text = msg_split_dsn(dsn_text, r->dsn);

	free(r->text);
	free(r->relay);
	r->text = xstrdup(text);
	r->relay = NULL;
	r->state = QM_R_DEFER;
	qm->st.deferred++;
	qm_msg_log_rcpt(m, r, r->dsn, "deferred", text);
}

/* The next hop of r, or a deferral/bounce when it cannot go now. */
static int msg_route_one(struct qm *qm, struct qm_msg *m, struct qm_rcpt *r,
    char *hop, time_t now)
{
	struct qm_dest *d;
	char text[QM_LASTERR_MAX + 64];

	if (qm_route(qm->conf, &qm->tp, r->addr, hop, QM_NEXTHOP_MAX) < 0) {
		snprintf(r->dsn, sizeof(r->dsn), "5.1.2");
		free(r->text);
		r->text = xstrdup("bad destination address");
		r->state = QM_R_BOUNCE;
		qm->st.bounced++;
		qm_msg_log_rcpt(m, r, r->dsn, "bounced", r->text);
		return -1;
	}
	if (qm_route_kind(hop) == QM_KIND_LOCAL &&
	    qm->nagents_kind[QM_KIND_LOCAL] == 0) {
		qm_msg_defer_rcpt(qm, m, r, QM_TEXT_LOCAL);
		return -1;
	}
	d = qm_dest_get(&qm->sched, hop, qm_route_kind(hop));
	if (d->dead_until > now) {
		snprintf(text, sizeof(text), "%s", d->last_err ? d->last_err :
		    "4.4.1 destination not responding");
		qm_msg_defer_rcpt(qm, m, r, text);
		return -1;
	}
	return 0;
}

/* Group the routed recipients (hops[k] for idx[k]) into jobs. */
static void msg_make_jobs(struct qm *qm, struct qm_msg *m, char **hops,
    uint32_t *idx, size_t n)
{
	uint32_t *order = xreallocarray(NULL, n, sizeof(*order));
	unsigned *sizes = xreallocarray(NULL, n, sizeof(*sizes));
	unsigned limit = qm->conf->smtp_rcpt_limit < QM_JOB_RCPT_MAX ?
	    qm->conf->smtp_rcpt_limit : QM_JOB_RCPT_MAX;
	size_t njobs = qm_group((const char *const *)hops, n, limit, order,
	    sizes), at = 0;

	for (size_t j = 0; j < njobs; j++) {
		const char *hop = hops[order[at]];
		struct qm_dest *d = qm_dest_get(&qm->sched, hop,
		    qm_route_kind(hop));

		for (unsigned k = 0; k < sizes[j]; k++) {
			order[at + k] = idx[order[at + k]];
			m->rcpts[order[at + k]].state = QM_R_QUEUED;
		}
		qm_job_new(qm, m, d, order + at, sizes[j]);
		at += sizes[j];
	}
	free(order);
	free(sizes);
}

void qm_msg_start(struct qm *qm, struct qm_msg *m)
{
	time_t now = qm_now();
	char **hops = NULL;
	uint32_t *idx = NULL;
	size_t n = 0, pending = 0;

	for (size_t i = 0; i < m->nrcpt; i++)
		pending += m->rcpts[i].state == QM_R_IDLE;
	if (pending == 0) {
		qm_msg_settle(qm, m);	/* finished earlier: unlink */
		return;
	}
	log_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue active)", m->id,
	    m->sender, m->size, m->nrcpt);
	hops = xreallocarray(NULL, pending, sizeof(*hops));
	idx = xreallocarray(NULL, pending, sizeof(*idx));
	for (size_t i = 0; i < m->nrcpt; i++) {
		char hop[QM_NEXTHOP_MAX];

		if (m->rcpts[i].state != QM_R_IDLE ||
		    msg_route_one(qm, m, &m->rcpts[i], hop, now) < 0)
			continue;
		hops[n] = xstrdup(hop);
		idx[n++] = (uint32_t)i;
	}
	if (n > 0)
		msg_make_jobs(qm, m, hops, idx, n);
	for (size_t k = 0; k < n; k++)
		free(hops[k]);
	free(hops);
	free(idx);
	if (m->njobs == 0)
		qm_msg_settle(qm, m);
}

void qm_msg_job_gone(struct qm *qm, struct qm_msg *m)
{
	if (m->njobs > 0)
		m->njobs--;
	if (m->njobs == 0)
		qm_msg_settle(qm, m);
}
