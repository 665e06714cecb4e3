/* qwriter_client: the writer's side of the client connections (smtpd
 * workers, sendmail).  Records are parsed as a stream straight out of the
 * provided recv buffers: DATA payloads go into their transaction without an
 * intermediate copy.  Any protocol violation drops that client only, with a
 * log line; its durable commits still complete. */
#include "queue/qwriter.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void cl_on_recv(struct ev_op *op, int res, unsigned flags);
static void cl_on_send(struct ev_op *op, int res, unsigned flags);

static unsigned cl_bucket(uint64_t id)
{
	return (unsigned)((id * 0x9E3779B97F4A7C15ull) >> 58) % QW_TXN_BUCKETS;
}

static struct qw_txn *cl_txn_find(struct qw_client *c, uint64_t id)
{
	struct qw_txn *t;

	for (t = c->txns[cl_bucket(id)]; t != NULL; t = t->hnext)
		if (t->id == id)
			return t;
	return NULL;
}

static void cl_txn_remove(struct qw_client *c, struct qw_txn *t)
{
	struct qw_txn **pp = &c->txns[cl_bucket(t->id)];

	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	t->hnext = NULL;
	c->ntxn--;
}

static void cl_recv_arm(struct qw_client *c)
{
	ev_recv_multishot(&c->qw->loop, &c->recv_op, c->fd, &c->qw->br);
	c->recv_armed = 1;
	c->ops++;
}

static void cl_maybe_free(struct qw_client *c)
{
	if (!c->closing || c->ops > 0)
		return;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->committed > 0)
		return;		/* answers still due: qw_client_release */
	buf_free(&c->rec);
	buf_free(&c->out);
	buf_free(&c->sendbuf);
	free(c);
}

void qw_client_release(struct qw_client *c)
{
	cl_maybe_free(c);
}

void qw_client_close(struct qw_client *c, const char *reason)
{
	struct qw *qw = c->qw;

	if (c->closing)
		return;
	if (reason != NULL)
		log_warn("client uid=%u pid=%ld: %s; connection dropped",
		    (unsigned)c->uid, (long)c->pid, reason);
	c->closing = 1;
	qw_notify_gone(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		qw->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	for (unsigned i = 0; i < QW_TXN_BUCKETS; i++)
		while (c->txns[i] != NULL) {
			struct qw_txn *t = c->txns[i];

			cl_txn_remove(c, t);
			qw_txn_free(t);
		}
	c->data_txn = NULL;
	if (c->ops > 0) {
		shutdown(c->fd, SHUT_RDWR);
		ev_cancel_fd(&qw->loop, c->fd);
	}
	cl_maybe_free(c);
}

void qw_clients_close_all(struct qw *qw)
{
	while (qw->clients != NULL)
		qw_client_close(qw->clients, NULL);
}

unsigned qw_clients_open_txns(const struct qw *qw)
{
	unsigned n = 0;

	for (const struct qw_client *c = qw->clients; c != NULL; c = c->next)
		n += c->ntxn;
	return n;
}

static void cl_send_more(struct qw_client *c)
{
	size_t n;

	if (c->sending || c->closing ||
	    (n = buf_flip(&c->sendbuf, &c->sendoff, &c->out)) == 0)
		return;
	ev_send(&c->qw->loop, &c->send_op, c->fd, c->sendbuf.data + c->sendoff,
	    n);
	c->sending = 1;
	c->ops++;
}

static void cl_on_send(struct ev_op *op, int res, unsigned flags)
{
	struct qw_client *c = container_of(op, struct qw_client, send_op);

	c->sending = 0;
	c->ops--;
	if (c->closing) {
		cl_maybe_free(c);
		return;
	}
	if (res < 0) {
		qw_client_close(c, res == -EPIPE || res == -ECONNRESET ? NULL :
		    "send failed");
		return;
	}
	c->sendoff += (size_t)res;
	if (c->sendoff == c->sendbuf.len && c->sendbuf.cap > 65536) {
		/* A burst of replies left a big buffer: give it back.  The
		 * offset goes with it, or the next send would start past the
		 * end of an empty buffer. */
		buf_free(&c->sendbuf);
		c->sendoff = 0;
	}
	cl_send_more(c);
}

void qw_client_flush(struct qw_client *c)
{
	cl_send_more(c);
}

void qw_client_reply(struct qw_client *c, uint16_t type, uint64_t id,
    uint16_t tag, const char *val)
{
	size_t off;

	if (c->closing)
		return;
	off = ipc_begin(&c->out, type, id);
	if (tag != 0)
		ipc_put_str(&c->out, tag, val);
	ipc_end(&c->out, off);
	/* The subscriber's notices have their own bound (qwriter_notify.c). */
	if (c->out.len + c->sendbuf.len > QW_OUT_MAX +
	    (c->own ? QW_NOTIFY_MAX : 0)) {
		qw_client_close(c, "replies not read");
		return;
	}
	cl_send_more(c);
}

/* A complete header arrived: check it and prepare for the payload. */
static const char *cl_record_start(struct qw_client *c)
{
	struct ipc_msg m;

	if (ipc_decode(c->hdr, IPC_HDR_LEN, &m) < 0)
		return "bad record header";
	c->cur = m.hdr;
	c->need = m.hdr.len;
	buf_reset(&c->rec);
	switch (m.hdr.type) {
	case IPC_QW_DATA:
		c->data_txn = cl_txn_find(c, m.hdr.id);
		return c->data_txn ? NULL : "DATA for an unknown transaction";
	case IPC_QW_BEGIN:
	case IPC_QW_COMMIT:
	case IPC_QW_ABORT:
		return NULL;
	case IPC_QM_SUBSCRIBE:
		return c->own ? NULL : "SUBSCRIBE from a foreign uid";
	default:
		return "unexpected record type";
	}
}

/* A complete record (other than DATA's bytes) arrived. */
static const char *cl_record_end(struct qw_client *c)
{
	uint64_t id = c->cur.id;
	const char *why = NULL;
	struct qw_txn *t;

	if (c->cur.type == IPC_QW_DATA)
		return NULL;
	if (c->cur.type == IPC_QM_SUBSCRIBE) {
		if (c->rec.len != 0 || id != 0)
			return "malformed SUBSCRIBE";
		qw_notify_subscribe(c);
		return NULL;
	}
	t = cl_txn_find(c, id);
	if (c->cur.type == IPC_QW_BEGIN) {
		if (t != NULL)
			return "duplicate transaction id";
		if (c->ntxn >= (c->trusted ? QW_TXN_MAX_TRUSTED :
		    QW_TXN_MAX_UNTRUSTED))
			return "too many open transactions";
		if ((t = qw_txn_begin(c, id, c->rec.data, c->rec.len,
		    &why)) == NULL)
			return why;
		t->hnext = c->txns[cl_bucket(id)];
		c->txns[cl_bucket(id)] = t;
		c->ntxn++;
		return NULL;
	}
	if (t == NULL)
		return c->cur.type == IPC_QW_COMMIT ?
		    "COMMIT for an unknown transaction" :
		    "ABORT for an unknown transaction";
	if (c->rec.len != 0)
		return "unexpected payload";
	cl_txn_remove(c, t);
	if (c->cur.type == IPC_QW_ABORT) {
		qw_txn_free(t);
	} else {
		c->committed++;
		qw_txn_commit(t);
	}
	return NULL;
}

static void cl_feed(struct qw_client *c, const char *p, size_t n)
{
	const char *why = NULL;

	while (n > 0 && why == NULL && !c->closing) {
		size_t k;

		if (c->hdr_have < IPC_HDR_LEN) {
			k = IPC_HDR_LEN - c->hdr_have < n ?
			    IPC_HDR_LEN - c->hdr_have : n;
			memcpy(c->hdr + c->hdr_have, p, k);
			c->hdr_have += k;
			p += k;
			n -= k;
			if (c->hdr_have < IPC_HDR_LEN ||
			    (why = cl_record_start(c)) != NULL)
				continue;
		} else {
			k = c->need < n ? c->need : n;
			if (c->cur.type == IPC_QW_DATA)
				qw_txn_data(c->data_txn, p, k);
			else if (buf_append(&c->rec, p, k) < 0)
				why = "record too long";
			p += k;
			n -= k;
			c->need -= k;
		}
		if (why == NULL && c->need == 0) {
			c->hdr_have = 0;
			why = cl_record_end(c);
		}
	}
	if (why != NULL)
		qw_client_close(c, why);
}

static void cl_on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct qw_client *c = container_of(op, struct qw_client, recv_op);
	int more = (flags & IORING_CQE_F_MORE) != 0;

	if (res > 0) {
		char *data = ev_bufring_data(&c->qw->br, flags);

		if (data != NULL && !c->closing)
			cl_feed(c, data, (size_t)res);
		ev_bufring_put(&c->qw->br, flags);
	}
	if (!more) {
		c->recv_armed = 0;
		c->ops--;
	}
	if (c->closing) {
		cl_maybe_free(c);
		return;
	}
	if (res == 0 || (res < 0 && res != -ENOBUFS)) {
		if (c->ntxn > 0)
			log_info("client uid=%u pid=%ld: closed with %u open "
			    "transactions", (unsigned)c->uid, (long)c->pid,
			    c->ntxn);
		qw_client_close(c, NULL);
	} else if (!more) {
		cl_recv_arm(c);
	}
}

static void cl_new(struct qw *qw, int fd)
{
	struct qw_client *c = xcalloc(1, sizeof(*c));
	struct ucred cr;
	socklen_t len = sizeof(cr);

	c->qw = qw;
	c->fd = fd;
	c->recv_op.fn = cl_on_recv;
	c->send_op.fn = cl_on_send;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		c->uid = cr.uid;
		c->pid = cr.pid;
	} else {
		c->uid = (uid_t)-1;
		c->pid = -1;
	}
	c->own = c->uid == geteuid();
	c->trusted = c->uid == 0 || c->own ||
	    (qw->have_smtpd_uid && c->uid == qw->smtpd_uid);
	buf_init(&c->rec, IPC_PAYLOAD_MAX);
	buf_init(&c->out, 0);
	buf_init(&c->sendbuf, 0);
	c->next = qw->clients;
	if (c->next)
		c->next->prev = c;
	qw->clients = c;
	cl_recv_arm(c);
}

static void qw_on_accept_timer(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, accept_timer_op);

	if (qw->accepting && qw->drain == QW_RUNNING)
		ev_accept(&qw->loop, &qw->accept_op, qw->listen_fd);
	else
		qw->accepting = 0;
}

static void qw_on_accept(struct ev_op *op, int res, unsigned flags)
{
	struct qw *qw = container_of(op, struct qw, accept_op);

	if (res >= 0) {
		if (qw->drain == QW_RUNNING)
			cl_new(qw, res);
		else
			close(res);
	} else if (res != -ECANCELED) {
		log_warn("accept: %s", strerror(-res));
	}
	if (flags & IORING_CQE_F_MORE)
		return;
	if (!qw->accepting || qw->drain != QW_RUNNING) {
		qw->accepting = 0;
		return;
	}
	if (res < 0) {
		/* EMFILE & co: do not spin, try again shortly. */
		ev_timeout(&qw->loop, &qw->accept_timer_op, &qw->accept_ts,
		    100);
		return;
	}
	ev_accept(&qw->loop, &qw->accept_op, qw->listen_fd);
}

void qw_accept_start(struct qw *qw)
{
	qw->accept_op.fn = qw_on_accept;
	qw->accept_timer_op.fn = qw_on_accept_timer;
	qw->accepting = 1;
	ev_accept(&qw->loop, &qw->accept_op, qw->listen_fd);
}
