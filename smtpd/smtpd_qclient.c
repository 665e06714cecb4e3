/* smtpd_qclient: the queue-writer connection; see smtpd_qclient.h.
 * Transaction ids are (generation << 32 | slot + 1), so a late verdict
 * for a session that has gone away finds a reused or free slot and is
 * ignored.  Records are appended to `out` and sent as one batch; `wire`
 * holds the bytes of the send in flight (the kernel may read them until
 * it completes).  A verdict is accepted only if it is well formed: the
 * writer is trusted to be alive, not to be correct. */
#include "smtpd/smtpd_qclient.h"
#include "lib/fds.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/qid.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SMTPD_QC_RECV (64 * 1024)

static void on_connect(struct ev_op *op, int res, unsigned flags);
static void on_recv(struct ev_op *op, int res, unsigned flags);
static void on_send(struct ev_op *op, int res, unsigned flags);
static void on_timer(struct ev_op *op, int res, unsigned flags);

int smtpd_qclient_init(struct smtpd_qclient *qc, struct ev_loop *loop,
    const char *state_dir)
{
	int n;

	memset(qc, 0, sizeof(*qc));
	qc->loop = loop;
	qc->fd = -1;
	qc->backoff = SMTPD_QC_BACKOFF_MIN;
	buf_init(&qc->out, 0);
	buf_init(&qc->wire, 0);
	buf_init(&qc->in, 0);
	qc->sun.sun_family = AF_UNIX;
	n = snprintf(qc->sun.sun_path, sizeof(qc->sun.sun_path), "%s/run/%s",
	    state_dir, MTA_QWRITER_SOCK);
	if (n < 0 || (size_t)n >= sizeof(qc->sun.sun_path))
		return -ENAMETOOLONG;
	qc->sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (size_t)n + 1);
	qc->conn_op.fn = on_connect;
	qc->recv_op.fn = on_recv;
	qc->send_op.fn = on_send;
	qc->timer_op.fn = on_timer;
	return 0;
}

static void schedule_retry(struct smtpd_qclient *qc)
{
	if (qc->stopping || qc->timer_busy)
		return;
	qc->timer_busy = 1;
	ev_timeout(qc->loop, &qc->timer_op, &qc->ts, qc->backoff);
	qc->backoff = qc->backoff * 2 > SMTPD_QC_BACKOFF_MAX ?
	    SMTPD_QC_BACKOFF_MAX : qc->backoff * 2;
}

static void qc_connect(struct smtpd_qclient *qc)
{
	if (qc->stopping || qc->state != SMTPD_QC_DOWN || qc->fd >= 0)
		return;
	qc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (qc->fd < 0) {
		log_warn("queue writer socket: %s", strerror(errno));
		schedule_retry(qc);
		return;
	}
	qc->state = SMTPD_QC_CONNECTING;
	qc->conn_busy = 1;
	io_uring_prep_connect(ev_sqe(qc->loop, &qc->conn_op), qc->fd,
	    (struct sockaddr *)&qc->sun, qc->sunlen);
}

void smtpd_qclient_start(struct smtpd_qclient *qc)
{
	qc_connect(qc);
}

void smtpd_qclient_stop(struct smtpd_qclient *qc)
{
	qc->stopping = 1;
}

/* Down and no op in flight: close the socket and try again later. */
static void maybe_close(struct smtpd_qclient *qc)
{
	if (qc->state != SMTPD_QC_DOWN || qc->fd < 0 || qc->recv_busy ||
	    qc->send_busy || qc->conn_busy)
		return;
	close(qc->fd);
	qc->fd = -1;
	buf_reset(&qc->wire);
	qc->wire_off = 0;
	buf_reset(&qc->in);
	schedule_retry(qc);
}

static void arm_recv(struct smtpd_qclient *qc)
{
	if (buf_reserve(&qc->in, SMTPD_QC_RECV) < 0)
		panic("queue writer input buffer");
	qc->recv_busy = 1;
	ev_recv(qc->loop, &qc->recv_op, qc->fd, qc->in.data + qc->in.len,
	    qc->in.cap - qc->in.len - 1);
}

static void on_timer(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_qclient *qc = container_of(op, struct smtpd_qclient,
	    timer_op);

	(void)res;
	(void)flags;
	qc->timer_busy = 0;
	qc_connect(qc);
}

static void on_connect(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_qclient *qc = container_of(op, struct smtpd_qclient,
	    conn_op);

	(void)flags;
	qc->conn_busy = 0;
	if (res < 0) {
		if (!qc->warned)
			log_warn("cannot connect to queue writer %s: %s",
			    qc->sun.sun_path, strerror(-res));
		qc->warned = 1;
		qc->state = SMTPD_QC_DOWN;
		maybe_close(qc);
		return;
	}
	if (qc->warned)
		log_info("connected to queue writer %s", qc->sun.sun_path);
	qc->warned = 0;
	qc->state = SMTPD_QC_UP;
	qc->backoff = SMTPD_QC_BACKOFF_MIN;
	arm_recv(qc);
}

/* Free slot of id; returns its transaction, or NULL if unknown. */
static struct smtpd_qtxn *slot_take(struct smtpd_qclient *qc, uint64_t id)
{
	uint32_t idx = (uint32_t)(id & 0xffffffffu), gen = (uint32_t)(id >> 32);
	struct smtpd_qslot *sl;
	struct smtpd_qtxn *t;

	if (idx == 0 || idx > qc->nslots)
		return NULL;
	sl = &qc->slots[idx - 1];
	if (sl->t == NULL || sl->gen != gen)
		return NULL;
	t = sl->t;
	sl->t = NULL;
	sl->next_free = qc->free_head;
	qc->free_head = idx;
	qc->open--;
	return t;
}

static uint64_t slot_alloc(struct smtpd_qclient *qc, struct smtpd_qtxn *t)
{
	struct smtpd_qslot *sl;
	uint32_t idx;

	if (qc->free_head == 0) {
		uint32_t n = qc->nslots ? qc->nslots * 2 : 64;

		if (n <= qc->nslots || n > (1u << 30))
			panic("too many queue transactions");
		qc->slots = xreallocarray(qc->slots, n, sizeof(*qc->slots));
		for (uint32_t i = n; i > qc->nslots; i--) {
			qc->slots[i - 1].t = NULL;
			qc->slots[i - 1].gen = 0;
			qc->slots[i - 1].next_free = qc->free_head;
			qc->free_head = i;
		}
		qc->nslots = n;
	}
	idx = qc->free_head;
	sl = &qc->slots[idx - 1];
	qc->free_head = sl->next_free;
	sl->t = t;
	if (++sl->gen == 0)
		sl->gen = 1;
	qc->open++;
	return (uint64_t)sl->gen << 32 | idx;
}

static void waiter_remove(struct smtpd_qclient *qc, struct smtpd_qtxn *t)
{
	struct smtpd_qtxn **pp;

	if (!t->waiting)
		return;
	for (pp = &qc->waiters; *pp != NULL; pp = &(*pp)->wait_next)
		if (*pp == t) {
			*pp = t->wait_next;
			break;
		}
	t->waiting = 0;
	t->wait_next = NULL;
}

/* The writer is gone: every open transaction fails with LOST. */
static void lost(struct smtpd_qclient *qc, const char *why)
{
	if (qc->state != SMTPD_QC_UP)
		return;
	log_warn("queue writer connection lost: %s", why);
	qc->state = SMTPD_QC_DOWN;
	ev_cancel_fd(qc->loop, qc->fd);
	buf_reset(&qc->out);
	while (qc->waiters != NULL)
		waiter_remove(qc, qc->waiters);
	for (uint32_t i = 1; i <= qc->nslots; i++) {
		struct smtpd_qtxn *t = qc->slots[i - 1].t;

		if (t == NULL)
			continue;
		t = slot_take(qc, (uint64_t)qc->slots[i - 1].gen << 32 | i);
		t->id = 0;
		t->committed = 0;
		t->done(t, SMTPD_Q_LOST, "", 0);
	}
	maybe_close(qc);
}

/* One verdict record; -EPROTO if it is malformed. */
static int handle(struct smtpd_qclient *qc, const struct ipc_msg *m)
{
	const char *val, *text = "";
	uint32_t len, tlen = 0;
	struct ipc_iter it;
	struct smtpd_qtxn *t;
	uint16_t tag;
	uint64_t q;
	int rc, result;

	switch (m->hdr.type) {
	case IPC_QW_QUEUED: result = SMTPD_Q_QUEUED; break;
	case IPC_QW_TEMPFAIL: result = SMTPD_Q_TEMPFAIL; break;
	case IPC_QW_REJECT: result = SMTPD_Q_REJECT; break;
	default: return -EPROTO;
	}
	ipc_iter_init(&it, m);
	while ((rc = ipc_next(&it, &tag, &val, &len)) == 1)
		if ((tag == IPC_A_QID && result == SMTPD_Q_QUEUED) ||
		    (tag == IPC_A_TEXT && result != SMTPD_Q_QUEUED)) {
			text = val;
			tlen = len;
		}
	if (rc < 0)
		return -EPROTO;
	if (result == SMTPD_Q_QUEUED) {
		char qid[QID_LEN + 1];

		if (tlen != QID_LEN)
			return -EPROTO;
		memcpy(qid, text, QID_LEN);
		qid[QID_LEN] = '\0';
		if (qid_parse(qid, &q) < 0)
			return -EPROTO;
	}
	if ((t = slot_take(qc, m->hdr.id)) == NULL)
		return 0;	/* the session has gone away */
	waiter_remove(qc, t);
	t->id = 0;
	t->committed = 0;
	t->done(t, result, text, tlen);
	return 0;
}

static int dispatch(struct smtpd_qclient *qc)
{
	size_t off = 0;
	int rc = 0;

	while (rc == 0) {
		struct ipc_msg m;
		long used = ipc_decode(qc->in.data + off, qc->in.len - off, &m);

		if (used <= 0) {
			rc = (int)used;
			break;
		}
		off += (size_t)used;
		rc = handle(qc, &m);
	}
	buf_consume(&qc->in, off);
	return rc;
}

/* The shared start of on_recv and on_send: 1 if the op moved bytes on a
 * live connection; else 0, once the socket is closed (the connection was
 * going down) or the writer declared lost (why0 says what 0 bytes mean). */
static int op_ok(struct smtpd_qclient *qc, int res, const char *why0)
{
	if (qc->state != SMTPD_QC_UP) {
		maybe_close(qc);
		return 0;
	}
	if (res <= 0) {
		lost(qc, res == 0 ? why0 : strerror(-res));
		return 0;
	}
	return 1;
}

static void on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_qclient *qc = container_of(op, struct smtpd_qclient,
	    recv_op);

	(void)flags;
	qc->recv_busy = 0;
	if (!op_ok(qc, res, "closed by the writer"))
		return;
	qc->in.len += (size_t)res;
	if (dispatch(qc) < 0) {
		lost(qc, "protocol error");
		return;
	}
	if (qc->state == SMTPD_QC_UP)
		arm_recv(qc);
}

static size_t pending(const struct smtpd_qclient *qc)
{
	return qc->out.len + (qc->wire.len - qc->wire_off);
}

static void send_next(struct smtpd_qclient *qc)
{
	size_t n;

	if (qc->state != SMTPD_QC_UP || qc->send_busy ||
	    (n = buf_flip(&qc->wire, &qc->wire_off, &qc->out)) == 0)
		return;
	qc->send_busy = 1;
	ev_send(qc->loop, &qc->send_op, qc->fd, qc->wire.data + qc->wire_off,
	    n);
}

/* Below the low-water mark: let the waiting sessions go on. */
static void wake_waiters(struct smtpd_qclient *qc)
{
	struct smtpd_qtxn *list;

	if (qc->waiters == NULL || pending(qc) > SMTPD_QC_LOW)
		return;
	list = qc->waiters;
	qc->waiters = NULL;
	while (list != NULL) {
		struct smtpd_qtxn *t = list;

		list = t->wait_next;
		t->wait_next = NULL;
		t->waiting = 0;
		t->wake(t);
	}
}

static void on_send(struct ev_op *op, int res, unsigned flags)
{
	struct smtpd_qclient *qc = container_of(op, struct smtpd_qclient,
	    send_op);

	(void)flags;
	qc->send_busy = 0;
	if (!op_ok(qc, res, "short send"))
		return;
	qc->wire_off += (size_t)res;
	send_next(qc);
	wake_waiters(qc);
}

void smtpd_qclient_flush(struct smtpd_qclient *qc)
{
	send_next(qc);
}

static int sink_ready(void *ctx)
{
	struct smtpd_qclient *qc = ctx;

	return qc->state == SMTPD_QC_UP;
}

static int sink_begin(void *ctx, struct smtpd_qtxn *t,
    const struct smtpd_env *e)
{
	struct smtpd_qclient *qc = ctx;
	char num[24];
	size_t off;

	if (qc->state != SMTPD_QC_UP)
		return -ENOTCONN;
	t->id = slot_alloc(qc, t);
	t->committed = 0;
	off = ipc_begin(&qc->out, IPC_QW_BEGIN, t->id);
	ipc_put_str(&qc->out, IPC_A_ORIGIN, "smtp");
	ipc_put_str(&qc->out, IPC_A_CLIENT, e->client);
	ipc_put_str(&qc->out, IPC_A_HELO, e->helo);
	ipc_put_str(&qc->out, IPC_A_SENDER, e->sender);
	for (size_t i = 0; i < e->nrcpt; i++)
		ipc_put_str(&qc->out, IPC_A_RCPT, e->rcpt[i]);
	ipc_put_str(&qc->out, IPC_A_BODY, e->body);
	if (e->smtputf8)
		ipc_put(&qc->out, IPC_A_SMTPUTF8, "", 0);
	if (e->has_size) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->size);
		ipc_put_str(&qc->out, IPC_A_SIZE, num);
	}
	ipc_end(&qc->out, off);
	return 0;
}

static void sink_data(void *ctx, struct smtpd_qtxn *t, const char *p,
    size_t n)
{
	struct smtpd_qclient *qc = ctx;

	if (t->id == 0 || qc->state != SMTPD_QC_UP)
		return;
	while (n > 0) {
		size_t k = n > IPC_PAYLOAD_MAX ? IPC_PAYLOAD_MAX : n;

		ipc_put_raw(&qc->out, IPC_QW_DATA, t->id, p, k);
		p += k;
		n -= k;
	}
}

static void sink_commit(void *ctx, struct smtpd_qtxn *t)
{
	struct smtpd_qclient *qc = ctx;

	if (t->id == 0 || qc->state != SMTPD_QC_UP)
		return;
	ipc_end(&qc->out, ipc_begin(&qc->out, IPC_QW_COMMIT, t->id));
	t->committed = 1;
}

static void sink_cancel(void *ctx, struct smtpd_qtxn *t)
{
	struct smtpd_qclient *qc = ctx;

	waiter_remove(qc, t);
	if (t->id == 0)
		return;
	if (slot_take(qc, t->id) == t && !t->committed &&
	    qc->state == SMTPD_QC_UP)
		ipc_end(&qc->out, ipc_begin(&qc->out, IPC_QW_ABORT, t->id));
	t->id = 0;
	t->committed = 0;
}

static int sink_congested(void *ctx, struct smtpd_qtxn *t)
{
	struct smtpd_qclient *qc = ctx;

	if (pending(qc) <= SMTPD_QC_HIGH)
		return 0;
	if (!t->waiting) {
		t->waiting = 1;
		t->wait_next = qc->waiters;
		qc->waiters = t;
	}
	return 1;
}

const struct smtpd_sink_ops smtpd_qclient_ops = {
	.ready = sink_ready,
	.begin = sink_begin,
	.data = sink_data,
	.commit = sink_commit,
	.cancel = sink_cancel,
	.congested = sink_congested,
};
