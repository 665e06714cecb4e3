/* qwriter_alias: alias expansion of a transaction's recipients at BEGIN
 * (every origin: smtp, sendmail, qmgr's DSNs), so the queue file holds
 * final recipients only.  Each recipient in local_domains goes through
 * aliases_expand; the final list is deduplicated (any case, first
 * occurrence kept).  It may exceed max_recipients (an alias to a list is
 * one RCPT) but not QW_EXPANDED_MAX.  A loop, a chain too deep, too many
 * targets or an unreadable aliases file fail the COMMIT with TEMPFAIL
 * (fix the file, the client retries).  The aliases file is re-checked at
 * most once per second (aliases_refresh) and reloaded when it changed. */
#include "queue/qwriter.h"
#include "lib/aliases.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct qa_list {
	struct queue_rcpt *v;
	size_t n, cap;
	struct buf *log;	/* the alias line being built */
	size_t shown;		/* targets on that line */
};

static int64_t qa_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec;
}

/* Keep qw->aliases current; a file that never loaded is retried once a
 * second, and each new error is logged once. */
static void qa_refresh(struct qw *qw)
{
	char err[512];
	int rc;

	if (qw->aliases == NULL) {
		if (qa_now() == qw->aliases_retry)
			return;
		qw->aliases_retry = qa_now();
	}
	rc = aliases_refresh(&qw->aliases, qw->conf->aliases_file, err,
	    sizeof(err));
	if (rc < 0 && strcmp(err, qw->aliases_err) != 0) {
		log_warn("aliases: %s; %s", err, qw->aliases == NULL ?
		    "local recipients are deferred" : "previous version kept");
		snprintf(qw->aliases_err, sizeof(qw->aliases_err), "%s", err);
	} else if (rc == 1) {
		log_info("aliases: %s loaded, %zu entries",
		    qw->conf->aliases_file, aliases_count(qw->aliases));
		qw->aliases_err[0] = '\0';
	}
}

void qw_alias_init(struct qw *qw)
{
	qw->aliases_retry = -1;
	qa_refresh(qw);
}

void qw_alias_free(struct qw *qw)
{
	aliases_free(qw->aliases);
	qw->aliases = NULL;
}

static void qa_push(struct qa_list *l, char *addr)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? size_add(l->cap, l->cap) : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].status = QUEUE_RCPT_PENDING;
	l->v[l->n++].addr = addr;
}

static int qa_emit(void *ctx, const char *target)
{
	struct qa_list *l = ctx;

	if (l->n >= QW_EXPANDED_MAX)
		return -E2BIG;
	qa_push(l, xstrdup(target));
	if (l->shown < QW_ALIAS_LOG_TARGETS)
		buf_printf(l->log, "%s<%s>", l->shown ? ", " : "", target);
	l->shown++;
	return 0;
}

const char *qw_alias_error(int rc)
{
	switch (rc) {
	case -ELOOP:
		return QW_TEXT_ALIAS_LOOP;
	case -E2BIG:
		return QW_TEXT_ALIAS_MANY;
	default:
		return QW_TEXT_ALIAS_BAD;
	}
}

/* Expand one recipient into l (itself if not an alias): 0, and addr is
 * l's or freed; or -errno, and addr is still the caller's. */
static int qa_one(struct qw_txn *t, struct qa_list *l, char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t mark = t->aliaslog.len;
	int rc;

	if (at == NULL || !conf_is_local_domain(t->qw->conf, at + 1)) {
		qa_push(l, addr);
		return 0;
	}
	if (t->qw->aliases == NULL)
		return -EAGAIN;
	buf_printf(&t->aliaslog, "alias <%s> -> ", addr);
	l->log = &t->aliaslog;
	l->shown = 0;
	rc = aliases_expand(t->qw->aliases, t->qw->conf, addr, qa_emit, l);
	if (rc <= 0) {
		t->aliaslog.len = mark;
		if (rc == 0)
			qa_push(l, addr);
		return rc;
	}
	if (l->shown > QW_ALIAS_LOG_TARGETS)
		buf_printf(&t->aliaslog, ", ... (%zu in all)", l->shown);
	buf_puts(&t->aliaslog, "\n");
	free(addr);
	return 0;
}

struct qa_key {
	char *low;
	size_t i;
};

static int qa_key_cmp(const void *a, const void *b)
{
	const struct qa_key *x = a, *y = b;
	int c = strcmp(x->low, y->low);

	return c != 0 ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* Drop later duplicates (any case) from l, keeping the order. */
static void qa_dedupe(struct qa_list *l)
{
	struct qa_key *k = xreallocarray(NULL, l->n ? l->n : 1, sizeof(*k));
	size_t out = 0;

	for (size_t i = 0; i < l->n; i++) {
		k[i].low = xstrdup(l->v[i].addr);
		for (char *p = k[i].low; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		k[i].i = i;
	}
	qsort(k, l->n, sizeof(*k), qa_key_cmp);
	for (size_t i = 1; i < l->n; i++)
		if (strcmp(k[i - 1].low, k[i].low) == 0) {
			free(l->v[k[i].i].addr);
			l->v[k[i].i].addr = NULL;
		}
	for (size_t i = 0; i < l->n; i++) {
		free(k[i].low);
		if (l->v[i].addr != NULL)
			l->v[out++] = l->v[i];
	}
	l->n = out;
	free(k);
}

int qw_alias_expand(struct qw_txn *t)
{
	struct qw_client *c = t->client;
	struct qa_list l = { 0 };
	int rc = 0;

	qa_refresh(t->qw);
	for (size_t i = 0; i < t->msg.nrcpt; i++) {
		char *addr = t->msg.rcpts[i].addr;

		if (rc == 0 && (rc = qa_one(t, &l, addr)) < 0)
			log_warn("client uid=%u pid=%ld: alias <%s>: %s; "
			    "message deferred", c ? (unsigned)c->uid : 0u,
			    c ? (long)c->pid : 0L, addr, qw_alias_error(rc));
		if (rc < 0)	/* the message fails: keep the rest as is */
			qa_push(&l, addr);
	}
	qa_dedupe(&l);
	free(t->msg.rcpts);
	t->msg.rcpts = l.v;
	t->msg.nrcpt = l.n;
	return rc;
}

void qw_alias_log(const struct qw_txn *t)
{
	const char *p = t->aliaslog.data, *end = p + t->aliaslog.len;

	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			break;
		log_info("%s: %.*s", t->name, (int)(nl - p), p);
		p = nl + 1;
	}
}
