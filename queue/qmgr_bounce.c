/* qmgr_bounce: delivery status notifications.  One DSN per message per
 * attempt for the recipients that bounced or expired, and at most one
 * delay warning per message (delay_warning_time).  The original is mapped
 * from the queue file again (memory keeps no content), the report is built
 * by queue/dsn.c and submitted through the writer from <> to the envelope
 * sender.  Null-sender messages never get one (qmgr_settle.c). */
#include "queue/qmgr.h"
#include "queue/dsn.h"
#include "queue/queue_file.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

struct bounce_rcpts {
	struct dsn_rcpt *v;
	char (*mta)[256];
	size_t n;
};

/* "host[addr]:port" -> "host"; NULL for "none" or nothing. */
static const char *bounce_mta(const char *relay, char *out, size_t n)
{
	size_t len;

	if (relay == NULL || strcmp(relay, "none") == 0)
		return NULL;
	len = strcspn(relay, "[:");
	if (len == 0 || len >= n)
		return NULL;
	memcpy(out, relay, len);
	out[len] = '\0';
	return out;
}

/* The recipients of m in state (and, for bounces, without a DSN yet). */
static void bounce_collect(const struct qm *qm, const struct qm_msg *m,
    enum qm_rstate state, time_t now, struct bounce_rcpts *b)
{
	uint64_t until = m->arrival_us / 1000000u + qm->conf->queue_lifetime;

	b->v = xcalloc(m->nrcpt, sizeof(*b->v));
	b->mta = xcalloc(m->nrcpt, sizeof(*b->mta));
	b->n = 0;
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct qm_rcpt *r = &m->rcpts[i];
		struct dsn_rcpt *d = &b->v[b->n];

		if (r->state != state || (state == QM_R_BOUNCE && r->dsn_ok))
			continue;
		d->addr = r->addr;
		d->status = r->dsn[0] ? r->dsn : "5.0.0";
		d->remote_mta = bounce_mta(r->relay, b->mta[b->n],
		    sizeof(b->mta[b->n]));
		d->diagnostic = r->text;
		d->last_attempt = now;
		d->will_retry_until = state == QM_R_DEFER ? (time_t)until : 0;
		b->n++;
	}
}

/* Build the DSN of b for m into out; 0 or -errno. */
static int bounce_build(struct qm *qm, struct qm_msg *m,
    const struct bounce_rcpts *b, enum dsn_action action, time_t now,
    struct buf *out)
{
	struct dsn_params p;
	struct queue_msg q;
	struct stat st;
	char seed[64];
	void *map;
	int rc;

	if (fstat(m->fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0)
		return -EBADMSG;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, m->fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	if ((rc = queue_file_decode(map, (size_t)st.st_size, &q)) == 0) {
		snprintf(seed, sizeof(seed), "%s.%lld.%u", m->id,
		    (long long)now, m->attempts);
		memset(&p, 0, sizeof(p));
		p.reporting_mta = qm->conf->hostname;
		p.boundary_seed = seed;
		p.now = now;
		p.action = action;
		p.max_returned = QM_DSN_RETURN_MAX;
		rc = dsn_build(out, &q, q.content, q.content_len, b->v, b->n,
		    &p);
		queue_msg_free(&q);
	}
	munmap(map, (size_t)st.st_size);
	return rc;
}

int qm_bounce_submit(struct qm *qm, struct qm_msg *m)
{
	struct bounce_rcpts b;
	struct buf body;
	time_t now = qm_now();
	int rc;

	bounce_collect(qm, m, QM_R_BOUNCE, now, &b);
	buf_init(&body, 0);
	rc = b.n == 0 ? -EINVAL : bounce_build(qm, m, &b, DSN_FAILED, now,
	    &body);
	if (rc < 0)
		log_warn("%s: cannot build the non-delivery notification: %s",
		    m->id, strerror(-rc));
	else
		rc = qm_writer_submit(qm, m, m, &body, 0);
	buf_free(&body);
	free(b.v);
	free(b.mta);
	return rc;
}

void qm_bounce_delay_warning(struct qm *qm, struct qm_msg *m)
{
	unsigned dwt = qm->conf->delay_warning_time;
	time_t now = qm_now();
	struct bounce_rcpts b;
	struct buf body;
	uint64_t arr = m->arrival_us / 1000000u;

	if (dwt == 0 || (m->flags & QM_M_WARNED) || m->sender[0] == '\0' ||
	    (uint64_t)now < arr + dwt)
		return;
	bounce_collect(qm, m, QM_R_DEFER, now, &b);
	buf_init(&body, 0);
	if (b.n > 0 && bounce_build(qm, m, &b, DSN_DELAYED, now, &body) == 0 &&
	    qm_writer_submit(qm, NULL, m, &body, 1) == 0)
		m->flags |= QM_M_WARNED;
	buf_free(&body);
	free(b.v);
	free(b.mta);
}
