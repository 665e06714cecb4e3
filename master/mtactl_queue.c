/* mtactl_queue: reading the queue for the operator, through the queue
 * module's file API (queue/queue_file.h) only — never by parsing files
 * here.  `queue` lists incoming/, deferred/ and hold/ in arrival order
 * with each message's next attempt (from its recipients' status fields)
 * and last error (asked from the queue manager: `lasterror`; '-' when it
 * does not answer); `cat ID` prints a message's content exactly.
 * Read-only: the spool belongs to the queue user, so this needs root when
 * privsep is on. */
#include "master/mtactl.h"
#include "master/master.h"
#include "lib/mem.h"
#include "lib/qid.h"
#include "queue/queue_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const mtactl_qdirs[] = { "incoming", "deferred", "hold" };

struct mtactl_qent {
	uint64_t qid;
	unsigned dir;		/* index into mtactl_qdirs */
};

struct mtactl_qlist {
	struct mtactl_qent *v;
	size_t n, cap;
};

static void mtactl_spool_err(const char *path, int e)
{
	fprintf(stderr, "mtactl: %s: %s%s\n", path, strerror(e),
	    e == EACCES ? " (the spool belongs to the queue user: run "
	    "mtactl as root)" : "");
}

/* Add the IDs found in spool/DIR/XX/ to l.  0 or -1 (printed). */
static int mtactl_scan_dir(const char *spool, unsigned dir,
    struct mtactl_qlist *l)
{
	char path[4096], sub[4096];
	struct dirent *d, *e;
	DIR *top, *hd;
	uint64_t qid;

	if (master_path(path, sizeof(path), spool, mtactl_qdirs[dir]) < 0)
		return -1;
	if ((top = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		mtactl_spool_err(path, errno);
		return -1;
	}
	while ((d = readdir(top)) != NULL) {
		if (strlen(d->d_name) != 2 || !isxdigit((unsigned char)d->d_name[0]) ||
		    master_path(sub, sizeof(sub), path, d->d_name) < 0 ||
		    (hd = opendir(sub)) == NULL)
			continue;
		while ((e = readdir(hd)) != NULL) {
			if (qid_parse(e->d_name, &qid) < 0)
				continue;
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 256;
				l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
			}
			l->v[l->n].qid = qid;
			l->v[l->n++].dir = dir;
		}
		closedir(hd);
	}
	closedir(top);
	return 0;
}

static int mtactl_qent_cmp(const void *a, const void *b)
{
	const struct mtactl_qent *x = a, *y = b;

	return x->qid < y->qid ? -1 : x->qid > y->qid;
}

/* Unix seconds as "2024-11-26T11:30:02Z" (the log's clock, UTC). */
static void mtactl_time(uint64_t t, char *out, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *mtactl_rcpt_state(char status)
{
	switch (status) {
	case QUEUE_RCPT_PENDING:
		return "pending";
	case QUEUE_RCPT_DONE:
		return "done";
	case QUEUE_RCPT_BOUNCED:
		return "bounced";
	}
	return "unknown";
}

/* The earliest next attempt of the pending recipients, into out. */
static void mtactl_next(const struct queue_msg *m, char *out, size_t n)
{
	uint64_t best = UINT64_MAX;
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpts[i].status == QUEUE_RCPT_PENDING &&
		    m->rcpts[i].next_attempt < best)
			best = m->rcpts[i].next_attempt;
	if (best == UINT64_MAX)
		snprintf(out, n, "-");
	else if (best == 0 || best <= (uint64_t)time(NULL))
		snprintf(out, n, "now");
	else
		mtactl_time(best, out, n);
}

static int mtactl_lasterr_cmp(const void *a, const void *b)
{
	const struct mtactl_lasterr *x = a, *y = b;

	return x->qid < y->qid ? -1 : x->qid > y->qid;
}

void mtactl_lasterr_parse(char *text, size_t len, struct mtactl_lasterrs *e)
{
	char *p = text, *end = text + len, *nl;
	size_t cap = 0;
	uint64_t qid;

	e->v = NULL;
	e->n = 0;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;	/* text[len] is the NUL */
		*nl = '\0';
		if (nl - p < QID_LEN + 2 || p[QID_LEN] != ' ')
			continue;
		p[QID_LEN] = '\0';
		if (qid_parse(p, &qid) < 0)
			continue;
		if (e->n == cap) {
			cap = cap ? cap * 2 : 64;
			e->v = xreallocarray(e->v, cap, sizeof(*e->v));
		}
		e->v[e->n].qid = qid;
		e->v[e->n++].text = p + QID_LEN + 1;
	}
	if (e->n > 1)
		qsort(e->v, e->n, sizeof(*e->v), mtactl_lasterr_cmp);
}

const char *mtactl_lasterr_find(const struct mtactl_lasterrs *e, uint64_t qid)
{
	struct mtactl_lasterr key = { .qid = qid }, *hit;

	if (e->n == 0)
		return NULL;
	hit = bsearch(&key, e->v, e->n, sizeof(*e->v), mtactl_lasterr_cmp);
	return hit != NULL ? hit->text : NULL;
}

/* Ask the queue manager for the last errors; none if it does not answer
 * (not running, restarting, busy): the listing works without it. */
static void mtactl_lasterr_fetch(struct mtactl *ctl, struct buf *text,
    struct mtactl_lasterrs *e)
{
	char err[512];
	int status = 1;

	e->v = NULL;
	e->n = 0;
	if (mtactl_qmgr_ask(ctl, "lasterror", "", MTACTL_LASTERROR_TIMEOUT_SEC,
	    text, &status, err, sizeof(err)) < 0 || status != 0)
		return;
	mtactl_lasterr_parse(text->data, text->len, e);
}

/* A remote server's text on the operator's terminal: no control bytes
 * (escape sequences), nothing but one line. */
static void mtactl_print_safe(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* One message: a summary line, then its sender and recipients. */
static void mtactl_print_msg(const char *id, const char *dir,
    const struct queue_msg *m, const char *lasterr)
{
	char arrival[32], next[32];
	size_t i;

	mtactl_time(m->arrival_us / 1000000, arrival, sizeof(arrival));
	mtactl_next(m, next, sizeof(next));
	printf("%-16s  %9zu  %-20s  %-8s  %-20s  ", id, m->content_len,
	    arrival, dir, next);
	mtactl_print_safe(lasterr != NULL && *lasterr != '\0' ? lasterr : "-");
	putchar('\n');
	printf("  from <%s>\n", m->sender);
	for (i = 0; i < m->nrcpt; i++)
		printf("  to   <%s>  %s\n", m->rcpts[i].addr,
		    mtactl_rcpt_state(m->rcpts[i].status));
}

/* Read and print one entry; returns its size (0 if unreadable). */
static size_t mtactl_queue_one(const char *spool, const struct mtactl_qent *q,
    const struct mtactl_lasterrs *errs)
{
	char id[QID_LEN + 1], path[4096];
	struct queue_msg m;
	struct buf data;
	size_t size = 0;
	unsigned d;
	int rc;

	qid_format(q->qid, id);
	buf_init(&data, 0);
	memset(&m, 0, sizeof(m));
	/* qmgr may move it on (incoming -> deferred -> hold) between the
	 * listing and this read: follow it through the later directories. */
	rc = -ENOENT;
	for (d = q->dir; rc == -ENOENT && d < ARRAY_LEN(mtactl_qdirs); d++) {
		if (queue_path(spool, mtactl_qdirs[d], q->qid, path,
		    sizeof(path)) < 0)
			break;
		buf_reset(&data);
		rc = queue_file_read(path, &data, &m);
	}
	if (rc == 0) {
		mtactl_print_msg(id, mtactl_qdirs[d - 1], &m,
		    mtactl_lasterr_find(errs, q->qid));
		size = m.content_len;
		queue_msg_free(&m);
	} else if (rc != -ENOENT) {	/* ENOENT: delivered meanwhile */
		printf("%-16s  (unreadable: %s)\n", id, strerror(-rc));
	}
	buf_free(&data);
	return size;
}

int mtactl_queue(struct mtactl *ctl, int argc, char **argv)
{
	struct mtactl_qlist l = { 0 };
	struct mtactl_lasterrs errs;
	struct buf errtext;
	char spool[4096];
	size_t i, bytes = 0;
	unsigned d;

	if (argc != 1)
		return MTACTL_EX_USAGE;
	mtactl_conf(ctl);
	if (master_path(spool, sizeof(spool), ctl->conf.state_dir, "spool") < 0)
		return 1;
	for (d = 0; d < ARRAY_LEN(mtactl_qdirs); d++)
		if (mtactl_scan_dir(spool, d, &l) < 0) {
			free(l.v);
			return 1;
		}
	if (l.n == 0) {
		printf("mta: queue is empty\n");
		return 0;
	}
	qsort(l.v, l.n, sizeof(*l.v), mtactl_qent_cmp);
	buf_init(&errtext, 0);
	mtactl_lasterr_fetch(ctl, &errtext, &errs);
	printf("%-16s  %9s  %-20s  %-8s  %-20s  %s\n", "ID", "SIZE", "ARRIVAL",
	    "QUEUE", "NEXT ATTEMPT", "LAST ERROR");
	for (i = 0; i < l.n; i++)
		bytes += mtactl_queue_one(spool, &l.v[i], &errs);
	printf("-- %zu message%s, %zu bytes\n", l.n, l.n == 1 ? "" : "s",
	    bytes);
	free(errs.v);
	buf_free(&errtext);
	free(l.v);
	return 0;
}

int mtactl_cat(struct mtactl *ctl, int argc, char **argv)
{
	char id[QID_LEN + 2], spool[4096], path[4096];
	struct queue_msg m;
	struct buf data;
	uint64_t qid;
	size_t i;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: mtactl cat ID\n");
		return MTACTL_EX_USAGE;
	}
	snprintf(id, sizeof(id), "%s", argv[1]);
	for (i = 0; id[i] != '\0'; i++)
		id[i] = (char)toupper((unsigned char)id[i]);
	if (qid_parse(id, &qid) < 0) {
		fprintf(stderr, "mtactl: %s: not a queue ID\n", argv[1]);
		return 1;
	}
	mtactl_conf(ctl);
	if (master_path(spool, sizeof(spool), ctl->conf.state_dir, "spool") < 0)
		return 1;
	if ((rc = queue_find(spool, qid, path, sizeof(path))) < 0) {
		if (rc == -EACCES)
			mtactl_spool_err(spool, EACCES);
		else
			fprintf(stderr, "mtactl: %s: %s\n", id,
			    rc == -ENOENT ? "no such message" : strerror(-rc));
		return 1;
	}
	buf_init(&data, 0);
	memset(&m, 0, sizeof(m));
	if ((rc = queue_file_read(path, &data, &m)) < 0) {
		if (rc == -EACCES)
			mtactl_spool_err(path, EACCES);
		else
			fprintf(stderr, "mtactl: %s: %s\n", path, strerror(-rc));
		buf_free(&data);
		return 1;
	}
	rc = fwrite(m.content, 1, m.content_len, stdout) == m.content_len &&
	    fflush(stdout) == 0 ? 0 : 1;
	queue_msg_free(&m);
	buf_free(&data);
	return rc;
}
