/* qmgr_agent: the delivery agents' connections (agent.sock).  An agent
 * says HELLO (its kind must match its uid), then takes JOB records, each
 * with a read-only descriptor of the queue file (SCM_RIGHTS), and answers
 * RCPT per recipient and DONE per job.  Agents are untrusted: every record
 * is validated (qmgr_arec.c) and checked against the jobs the agent holds;
 * any violation drops the agent and its jobs count as deferred.  JOBs are
 * sent with a non-blocking sendmsg per record from before_sleep; when the
 * socket is full a poll on the ring waits for room. */
#include "queue/qmgr.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/numfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void agent_on_recv(struct ev_op *op, int res, unsigned flags);
static void agent_on_poll(struct ev_op *op, int res, unsigned flags);

static const char *agent_kind_name(enum qm_kind k)
{
	return k == QM_KIND_LOCAL ? "local" : "remote";
}

static void agent_maybe_free(struct qm_agent *a)
{
	if (!a->closing || a->recv_busy || a->poll_busy)
		return;
	if (a->fd >= 0)
		close(a->fd);
	a->qm->nclosing--;
	free(a->in);
	free(a);
}

static void agent_close(struct qm_agent *a, const char *why)
{
	struct qm *qm = a->qm;

	if (a->closing)
		return;
	if (why != NULL)
		log_warn("agent pid=%ld uid=%u: %s; connection dropped",
		    (long)a->pid, (unsigned)a->uid, why);
	else if (a->hello)
		log_info("agent pid=%ld (%s) disconnected", (long)a->pid,
		    agent_kind_name(a->kind));
	a->closing = 1;
	qm->nclosing++;
	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		qm->agents = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	qm->nagents--;
	if (a->hello)
		qm->nagents_kind[a->kind]--;
	while (a->ohead != NULL) {
		struct qm_orec *o = a->ohead;

		a->ohead = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	/* Every job it held is deferred (qm_job_finish logs them). */
	while (a->jobs != NULL)
		qm_job_finish(qm, a->jobs, QM_TEXT_AGENT);
	shutdown(a->fd, SHUT_RDWR);
	if (a->recv_busy || a->poll_busy)
		ev_cancel_fd(&qm->loop, a->fd);
	agent_maybe_free(a);
}

/* May an agent of this uid be of this kind?  Root and our own uid always
 * (an unprivileged installation runs everything as one user). */
static int agent_uid_ok(const struct qm *qm, uid_t uid, enum qm_kind kind)
{
	if (uid == 0 || uid == geteuid())
		return 1;
	return uid == (kind == QM_KIND_LOCAL ? qm->uid_local : qm->uid_remote);
}

/* The position of idx among j's unanswered recipients, or -1. */
static int agent_rcpt_pos(const struct qm_job *j, uint32_t idx)
{
	for (unsigned k = 0; k < j->n; k++)
		if (j->idx[k] == idx)
			return j->answered[k] ? -1 : (int)k;
	return -1;
}

static const char *agent_hello(struct qm_agent *a, const struct qm_arec *r)
{
	struct qm *qm = a->qm;

	if (a->hello)
		return "second HELLO";
	if (r->id != 0)
		return "HELLO with a nonzero id";
	if (!agent_uid_ok(qm, a->uid, r->kind))
		return "HELLO of a kind its uid may not be";
	a->hello = 1;
	a->kind = r->kind;
	a->slots = r->slots;
	qm->nagents_kind[a->kind]++;
	log_info("agent pid=%ld (%s) connected: %u slots", (long)a->pid,
	    agent_kind_name(a->kind), a->slots);
	qm_kick(qm);
	return NULL;
}

/* One validated record against the agent's state. */
static const char *agent_record(struct qm_agent *a, const struct ipc_msg *m)
{
	struct qm *qm = a->qm;
	struct qm_arec r;
	struct qm_job *j;
	const char *why;

	if ((why = qm_arec_parse(m, &r)) != NULL)
		return why;
	if (r.type == IPC_AG_HELLO)
		return agent_hello(a, &r);
	if (!a->hello)
		return "record before HELLO";
	if ((j = qm_job_find(qm, r.id)) == NULL || j->agent != a)
		return "record for a job it does not hold";
	if (r.type == IPC_AG_DONE) {
		qm_job_finish(qm, j, QM_TEXT_AGENT);
		return NULL;
	}
	if (agent_rcpt_pos(j, r.idx) < 0)
		return "RCPT for a recipient not in the job or answered";
	qm_job_result(qm, j, &r);
	return NULL;
}

static void agent_recv_arm(struct qm_agent *a)
{
	a->recv_busy = 1;
	ev_recv(&a->qm->loop, &a->recv_op, a->fd, a->in + a->inlen,
	    QM_AGENT_IN - a->inlen);
}

/* Records in a->in; returns why the agent must go, or NULL. */
static const char *agent_parse(struct qm_agent *a)
{
	size_t at = 0;
	const char *why = NULL;

	while (why == NULL && !a->closing && a->inlen - at >= IPC_HDR_LEN) {
		struct ipc_msg m;
		long used = ipc_decode(a->in + at, a->inlen - at, &m);

		if (used < 0 || (used == 0 && m.hdr.len > QM_AGENT_REC_MAX))
			why = "malformed or oversized record";
		else if (used == 0)
			break;
		else {
			why = agent_record(a, &m);
			at += (size_t)used;
		}
	}
	if (why == NULL && at > 0 && !a->closing) {
		memmove(a->in, a->in + at, a->inlen - at);
		a->inlen -= at;
	}
	return why;
}

static void agent_on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct qm_agent *a = container_of(op, struct qm_agent, recv_op);
	const char *why;

	a->recv_busy = 0;
	if (a->closing) {
		agent_maybe_free(a);
		return;
	}
	if (res <= 0) {
		agent_close(a, res == 0 || res == -ECONNRESET ? NULL :
		    "receive failed");
		return;
	}
	a->inlen += (size_t)res;
	if ((why = agent_parse(a)) != NULL) {
		agent_close(a, why);
		return;
	}
	if (!a->closing)
		agent_recv_arm(a);
}

static void agent_new(struct qm *qm, int fd)
{
	struct qm_agent *a;
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (qm->nagents >= QM_AGENTS_MAX || qm->stopping) {
		log_warn("agent connection refused: %s", qm->stopping ?
		    "stopping" : "too many agents");
		close(fd);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->qm = qm;
	a->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		a->uid = cr.uid;
		a->pid = cr.pid;
	} else {
		a->uid = (uid_t)-1;
		a->pid = -1;
	}
	a->in = xmalloc(QM_AGENT_IN);
	a->since = qm_now();
	a->otail = &a->ohead;
	a->recv_op.fn = agent_on_recv;
	a->poll_op.fn = agent_on_poll;
	a->next = qm->agents;
	if (a->next != NULL)
		a->next->prev = a;
	qm->agents = a;
	qm->nagents++;
	agent_recv_arm(a);
}

static void agent_on_accept(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, agent_accept_op);

	if (res >= 0)
		agent_new(qm, res);
	else if (res != -ECANCELED)
		log_warn("accept on %s: %s", MTA_AGENT_SOCK,
		    strerror(-res));
	if (!(flags & IORING_CQE_F_MORE) && !qm->stopping)
		ev_accept(&qm->loop, &qm->agent_accept_op, qm->agent_fd);
}

void qm_agent_start(struct qm *qm)
{
	qm->agent_accept_op.fn = agent_on_accept;
	ev_accept(&qm->loop, &qm->agent_accept_op, qm->agent_fd);
}

int qm_agent_send_job(struct qm *qm, struct qm_agent *a, struct qm_job *j)
{
	struct qm_msg *m = j->msg;
	struct qm_orec *o;
	struct buf b;
	size_t off;
	int fd;

	fd = openat(qm->dirfd[m->dir], m->rel, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd < 0) {
		log_warn("%s: cannot open the queue file for an agent: %s",
		    m->id, strerror(errno));
		return -errno;
	}
	buf_init(&b, 0);
	off = ipc_begin(&b, IPC_AG_JOB, j->id);
	ipc_put_str(&b, IPC_A_QID, m->id);
	ipc_put_str(&b, IPC_A_NEXTHOP, j->dest->key);
	for (unsigned k = 0; k < j->n; k++) {
		char num[21];

		fmt_dec_u64(num, j->idx[k]);
		ipc_put_str(&b, IPC_A_RCPT_IDX, num);
	}
	ipc_end(&b, off);
	o = xmalloc(size_add(sizeof(*o), b.len));
	o->next = NULL;
	o->fd = fd;
	o->len = b.len;
	o->off = 0;
	memcpy(o->data, b.data, b.len);
	buf_free(&b);
	*a->otail = o;
	a->otail = &o->next;
	return 0;
}

/* sendmsg of the head record (its fd rides on the first byte). */
static ssize_t agent_sendmsg(struct qm_agent *a, struct qm_orec *o)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = o->data + o->off;
	iov.iov_len = o->len - o->off;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (o->off == 0 && o->fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &o->fd, sizeof(int));
	}
	return sendmsg(a->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void agent_send(struct qm_agent *a)
{
	while (a->ohead != NULL && !a->closing) {
		struct qm_orec *o = a->ohead;
		ssize_t n = agent_sendmsg(a, o);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			a->poll_busy = 1;
			ev_poll(&a->qm->loop, &a->poll_op, a->fd, POLLOUT);
			return;
		}
		if (n < 0) {
			agent_close(a, errno == EPIPE || errno == ECONNRESET ?
			    NULL : "send failed");
			return;
		}
		if (o->off == 0 && o->fd >= 0) {
			close(o->fd);	/* the agent has its own copy now */
			o->fd = -1;
		}
		o->off += (size_t)n;
		if (o->off < o->len)
			continue;
		a->ohead = o->next;
		if (a->ohead == NULL)
			a->otail = &a->ohead;
		free(o);
	}
}

static void agent_on_poll(struct ev_op *op, int res, unsigned flags)
{
	struct qm_agent *a = container_of(op, struct qm_agent, poll_op);

	a->poll_busy = 0;
	if (a->closing) {
		agent_maybe_free(a);
		return;
	}
	agent_send(a);
}

void qm_agent_flush(struct qm *qm)
{
	for (struct qm_agent *a = qm->agents, *next; a != NULL; a = next) {
		next = a->next;
		if (a->ohead != NULL && !a->poll_busy)
			agent_send(a);
	}
}

struct qm_agent *qm_agent_pick(struct qm *qm, enum qm_kind kind)
{
	struct qm_agent *best = NULL;

	for (struct qm_agent *a = qm->agents; a != NULL; a = a->next) {
		if (!a->hello || a->closing || a->kind != kind ||
		    a->inflight >= a->slots)
			continue;
		/* Least loaded: lowest share of its slots in use. */
		if (best == NULL || (uint64_t)a->inflight * best->slots <
		    (uint64_t)best->inflight * a->slots)
			best = a;
	}
	return best;
}

void qm_agent_tick(struct qm *qm, time_t now)
{
	for (struct qm_agent *a = qm->agents, *next; a != NULL; a = next) {
		const struct qm_job *j;

		next = a->next;
		if (!a->hello && now - a->since > QM_HELLO_SECS) {
			agent_close(a, "no HELLO");
			continue;
		}
		for (j = a->jobs; j != NULL; j = j->anext)
			if (now - j->given_at > QM_JOB_SECS)
				break;
		if (j != NULL)
			agent_close(a, "a job not done within an hour");
	}
}

void qm_agent_close_all(struct qm *qm)
{
	while (qm->agents != NULL)
		agent_close(qm->agents, NULL);
}
