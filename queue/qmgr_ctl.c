/* qmgr_ctl: the operator's control socket (qmgr.sock, for mtactl).  Only
 * root and the queue manager's own uid may connect.  Each IPC_CTL_REQ
 * (CMD flush|delete|hold|release|stats|lasterror, ARG a queue ID or `all`)
 * gets one IPC_CTL_REPLY (STATUS 0 ok, 1 not found, 64 usage; TEXT printed
 * as is).  A message in flight is held or deleted when its attempt ends;
 * "delete all" answers once the spool walk is over. */
#include "queue/qmgr.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define QM_CTL_TEXT_MAX (IPC_PAYLOAD_MAX - 1024)

static void ctl_on_recv(struct ev_op *op, int res, unsigned flags);
static void ctl_on_send(struct ev_op *op, int res, unsigned flags);
static void ctl_process(struct qm_ctl *c);

static void ctl_maybe_free(struct qm_ctl *c)
{
	if (!c->closing || c->recv_busy || c->send_busy)
		return;
	c->qm->nclosing--;
	close(c->fd);
	buf_free(&c->out);
	free(c);
}

static void ctl_close(struct qm_ctl *c)
{
	struct qm *qm = c->qm;

	if (c->closing)
		return;
	c->closing = 1;
	qm->nclosing++;
	if (qm->delete_waiter == c)
		qm->delete_waiter = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		qm->ctls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	qm->nctls--;
	shutdown(c->fd, SHUT_RDWR);
	if (c->recv_busy || c->send_busy)
		ev_cancel_fd(&qm->loop, c->fd);
	ctl_maybe_free(c);
}

static void ctl_recv_arm(struct qm_ctl *c)
{
	c->recv_busy = 1;
	ev_recv(&c->qm->loop, &c->recv_op, c->fd, c->in + c->inlen,
	    sizeof(c->in) - c->inlen);
}

static void ctl_reply(struct qm_ctl *c, int status, const char *text)
{
	size_t off, n = strlen(text);
	char st[8];

	c->waiting = 0;
	snprintf(st, sizeof(st), "%d", status);
	off = ipc_begin(&c->out, IPC_CTL_REPLY, c->req_id);
	ipc_put_str(&c->out, IPC_A_STATUS, st);
	ipc_put(&c->out, IPC_A_TEXT, text, n > QM_CTL_TEXT_MAX ?
	    QM_CTL_TEXT_MAX : n);
	ipc_end(&c->out, off);
	c->send_busy = 1;
	ev_send(&c->qm->loop, &c->send_op, c->fd, c->out.data + c->outoff,
	    c->out.len - c->outoff);
}

/* After a send or recv completion: 1 if the connection is closing (freed
 * once its last op is back) or just failed (closed now). */
static int ctl_io_ended(struct qm_ctl *c, int res)
{
	if (c->closing)
		ctl_maybe_free(c);
	else if (res <= 0)
		ctl_close(c);
	else
		return 0;
	return 1;
}

static void ctl_on_send(struct ev_op *op, int res, unsigned flags)
{
	struct qm_ctl *c = container_of(op, struct qm_ctl, send_op);

	c->send_busy = 0;
	if (ctl_io_ended(c, res))
		return;
	c->outoff += (size_t)res;
	if (c->outoff < c->out.len) {
		c->send_busy = 1;
		ev_send(&c->qm->loop, &c->send_op, c->fd,
		    c->out.data + c->outoff, c->out.len - c->outoff);
		return;
	}
	buf_reset(&c->out);
	c->outoff = 0;
	ctl_process(c);		/* the next request, if any */
}

static void ctl_stats(struct qm *qm, struct buf *t)
{
	unsigned conns = 0;

	for (const struct qm_agent *a = qm->agents; a != NULL; a = a->next)
		if (a->hello && a->kind == QM_KIND_REMOTE)
			conns += a->inflight;
	buf_printf(t, "received %llu\ndelivered %llu\ndeferred %llu\n"
	    "bounced %llu\nexpired %llu\nqueue_active %u\nqueue_deferred %u\n"
	    "queue_hold %u\nconnections %u\n",
	    (unsigned long long)qm->st.received,
	    (unsigned long long)qm->st.delivered,
	    (unsigned long long)qm->st.deferred,
	    (unsigned long long)qm->st.bounced,
	    (unsigned long long)qm->st.expired, qm->nactive,
	    qm->queue_deferred, qm->queue_hold, conns);
}

static void ctl_lasterror(struct qm *qm, struct buf *t)
{
	for (size_t i = 0; i < qm->nhist && t->len < QM_CTL_TEXT_MAX; i++) {
		const struct qm_hist *h = &qm->hist[i];
		char id[QID_LEN + 1];

		if (h->qid == 0 || h->lasterr == NULL)
			continue;
		qid_format(h->qid, id);
		buf_printf(t, "%s %s\n", id, h->lasterr);
	}
}

/* Where qid lives on disk (not corrupt/), or -1. */
static int ctl_where(struct qm *qm, uint64_t qid, char *rel, size_t n)
{
	static const enum qm_dir dirs[] = { QM_INCOMING, QM_DEFERRED,
	    QM_HOLD };
	char id[QID_LEN + 1], xx[3];
	struct stat st;

	qid_format(qid, id);
	qid_hash_dir(qid, xx);
	snprintf(rel, n, "%s/%s", xx, id);
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++)
		if (fstatat(qm->dirfd[dirs[i]], rel, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			return (int)dirs[i];
	return -1;
}

/* Mark m deleted: its queued jobs go now, in-flight ones finish. */
static void ctl_delete_msg(struct qm *qm, struct qm_msg *m)
{
	if (m->flags & QM_M_DELETE)
		return;
	m->flags |= QM_M_DELETE;
	m->flags &= ~QM_M_HOLD;
	qm_jobs_drop_msg(qm, m);
	if (m->njobs == 0)
		qm_msg_settle(qm, m);
}

static int ctl_delete(struct qm *qm, struct qm_ctl *c, uint64_t qid,
    struct buf *t)
{
	struct qm_msg *m = qm_msg_find(qm, qid);
	char rel[QID_LEN + 4];
	int dir;

	if (m == NULL && (dir = ctl_where(qm, qid, rel, sizeof(rel))) >= 0 &&
	    qm_msg_load(qm, (enum qm_dir)dir, qid, 1, &m) < 0)
		m = NULL;
	if (m == NULL)
		return 1;
	ctl_delete_msg(qm, m);
	buf_printf(t, "%s deleted\n", m->id);
	return 0;
}

static int ctl_delete_all(struct qm *qm, struct qm_ctl *c)
{
	if (qm->delete_waiter != NULL || qm->scan_del.running)
		return -1;
	qm->deleted_count = 0;
	for (struct qm_msg *m = qm->msgs, *next; m != NULL; m = next) {
		next = m->next;
		if (!(m->flags & QM_M_DELETE))
			qm->deleted_count++;
		ctl_delete_msg(qm, m);
	}
	qm->delete_waiter = c;
	c->waiting = 1;
	qm_scan_start(qm, &qm->scan_del, QM_INCOMING, QM_SCAN_DELETE);
	return 0;
}

static int ctl_hold(struct qm *qm, uint64_t qid, struct buf *t)
{
	struct qm_msg *m = qm_msg_find(qm, qid);
	char rel[QID_LEN + 4];
	int dir;

	if (m != NULL) {
		if (m->flags & QM_M_DELETE)
			return 1;
		m->flags |= QM_M_HOLD;
		qm_jobs_drop_msg(qm, m);
		if (m->njobs == 0)
			qm_msg_settle(qm, m);
	} else if ((dir = ctl_where(qm, qid, rel, sizeof(rel))) < 0) {
		return 1;
	} else if (dir != QM_HOLD) {
		if (renameat(qm->dirfd[dir], rel, qm->dirfd[QM_HOLD], rel) < 0)
			return 1;
		qm->queue_hold++;
		log_info("%s: held", rel + 3);
	}
	qid_format(qid, rel);
	buf_printf(t, "%s held\n", rel);
	return 0;
}

static int ctl_release(struct qm *qm, uint64_t qid, struct buf *t)
{
	struct qm_msg *m = qm_msg_find(qm, qid);
	char rel[QID_LEN + 4];

	if (m != NULL && (m->flags & QM_M_HOLD) && m->dir != QM_HOLD) {
		m->flags &= ~QM_M_HOLD;	/* still in its attempt */
	} else if (m != NULL || ctl_where(qm, qid, rel, sizeof(rel)) !=
	    QM_HOLD) {
		return 1;
	} else {
		if (renameat(qm->dirfd[QM_HOLD], rel, qm->dirfd[QM_INCOMING],
		    rel) < 0)
			return 1;
		if (qm->queue_hold > 0)
			qm->queue_hold--;
		log_info("%s: released", rel + 3);
		qm_backlog_push(qm, qid);
	}
	qid_format(qid, rel);
	buf_printf(t, "%s released\n", rel);
	return 0;
}

/* Revive every destination and try every deferred message now. */
static void ctl_flush(struct qm *qm)
{
	for (size_t b = 0; b < qm->sched.tabsize; b++)
		for (struct qm_dest *d = qm->sched.tab[b]; d != NULL;
		    d = d->hnext)
			d->dead_until = 0;
	qm_scan_start(qm, &qm->scan_def, QM_DEFERRED, QM_SCAN_FORCE);
	log_info("flush: every deferred message is tried again now");
}

static void ctl_command(struct qm_ctl *c, const char *cmd, const char *arg)
{
	struct qm *qm = c->qm;
	struct buf t;
	uint64_t qid = 0;
	int rc = 0, have_id = qid_parse(arg, &qid) == 0;

	buf_init(&t, 0);
	if (strcmp(cmd, "stats") == 0) {
		ctl_stats(qm, &t);
	} else if (strcmp(cmd, "lasterror") == 0) {
		ctl_lasterror(qm, &t);
	} else if (strcmp(cmd, "flush") == 0) {
		ctl_flush(qm);
	} else if (strcmp(cmd, "delete") == 0 && strcmp(arg, "all") == 0) {
		if (ctl_delete_all(qm, c) == 0) {
			buf_free(&t);
			return;		/* answered by qm_ctl_delete_done */
		}
		rc = 1;
		buf_puts(&t, "a delete is already running\n");
	} else if (have_id && strcmp(cmd, "delete") == 0) {
		rc = ctl_delete(qm, c, qid, &t);
	} else if (have_id && strcmp(cmd, "hold") == 0) {
		rc = ctl_hold(qm, qid, &t);
	} else if (have_id && strcmp(cmd, "release") == 0) {
		rc = ctl_release(qm, qid, &t);
	} else {
		rc = 64;
		buf_puts(&t, "usage: flush | delete ID|all | hold ID | "
		    "release ID | stats | lasterror\n");
	}
	if (rc == 1 && t.len == 0)
		buf_printf(&t, "%s: no such message in the queue\n", arg);
	ctl_reply(c, rc, buf_cstr(&t));
	buf_free(&t);
}

/* One request: its CMD and ARG (short, printable). */
static int ctl_request(struct qm_ctl *c, const struct ipc_msg *m)
{
	char cmd[17] = "", arg[65] = "";
	struct ipc_iter it;
	const char *v;
	uint32_t n;
	uint16_t tag;
	int rc;

	if (m->hdr.type != IPC_CTL_REQ)
		return -1;
	ipc_iter_init(&it, m);
	while ((rc = ipc_next(&it, &tag, &v, &n)) == 1) {
		char *dst = tag == IPC_A_CMD ? cmd : tag == IPC_A_ARG ? arg :
		    NULL;
		size_t cap = tag == IPC_A_CMD ? sizeof(cmd) : sizeof(arg);

		if (dst == NULL || dst[0] != '\0' || n >= cap ||
		    memchr(v, '\0', n) != NULL)
			return -1;
		memcpy(dst, v, n);
		dst[n] = '\0';
	}
	if (rc < 0 || cmd[0] == '\0')
		return -1;
	c->req_id = m->hdr.id;
	ctl_command(c, cmd, arg);
	return 0;
}

/* Handle a buffered request, or wait for more bytes. */
static void ctl_process(struct qm_ctl *c)
{
	struct ipc_msg m;
	long used = ipc_decode(c->in, c->inlen, &m);

	if (used == 0 && c->inlen >= IPC_HDR_LEN &&
	    m.hdr.len > QM_CTL_REC_MAX)
		used = -EPROTO;
	if (used == 0) {
		ctl_recv_arm(c);
		return;
	}
	if (used < 0 || ctl_request(c, &m) < 0) {
		log_warn("control connection: malformed request");
		ctl_close(c);
		return;
	}
	memmove(c->in, c->in + used, c->inlen - (size_t)used);
	c->inlen -= (size_t)used;
}

static void ctl_on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct qm_ctl *c = container_of(op, struct qm_ctl, recv_op);

	c->recv_busy = 0;
	if (ctl_io_ended(c, res))
		return;
	c->inlen += (size_t)res;
	ctl_process(c);
}

static void ctl_new(struct qm *qm, int fd)
{
	struct qm_ctl *c;
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    (cr.uid != 0 && cr.uid != geteuid())) {
		log_warn("control connection from uid %ld refused",
		    len == sizeof(cr) ? (long)cr.uid : -1L);
		close(fd);
		return;
	}
	if (qm->nctls >= QM_CTL_MAX) {
		log_warn("control connection refused: too many");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->qm = qm;
	c->fd = fd;
	buf_init(&c->out, 0);
	c->recv_op.fn = ctl_on_recv;
	c->send_op.fn = ctl_on_send;
	c->next = qm->ctls;
	if (c->next != NULL)
		c->next->prev = c;
	qm->ctls = c;
	qm->nctls++;
	ctl_recv_arm(c);
}

static void ctl_on_accept(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, ctl_accept_op);

	if (res >= 0)
		ctl_new(qm, res);
	else if (res != -ECANCELED)
		log_warn("accept on the control socket: %s", strerror(-res));
	if (!(flags & IORING_CQE_F_MORE) && !qm->stopping)
		ev_accept(&qm->loop, &qm->ctl_accept_op, qm->ctl_fd);
}

void qm_ctl_start(struct qm *qm)
{
	qm->ctl_accept_op.fn = ctl_on_accept;
	ev_accept(&qm->loop, &qm->ctl_accept_op, qm->ctl_fd);
}

void qm_ctl_delete_done(struct qm *qm, unsigned long count)
{
	struct qm_ctl *c = qm->delete_waiter;
	char text[64];

	if (c == NULL)
		return;
	qm->delete_waiter = NULL;
	snprintf(text, sizeof(text), "%lu messages deleted\n", count);
	ctl_reply(c, 0, text);
}

void qm_ctl_close_all(struct qm *qm)
{
	while (qm->ctls != NULL)
		ctl_close(qm->ctls);
}
