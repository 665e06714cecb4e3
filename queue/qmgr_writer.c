/* qmgr_writer: the queue manager's connection to the queue writer
 * (run/qwriter.sock).  It subscribes (IPC_QM_SUBSCRIBE) and hears NEW
 * notices and CKPT watermarks; the first CKPT after a (re)subscription
 * means the writer's recovery is over, so incoming/ and deferred/ are
 * scanned then.  The same connection submits DSNs as ordinary BEGIN/DATA/
 * COMMIT transactions (origin qmgr) and gets QUEUED or an error for each.
 * A broken connection fails the DSNs waiting for an answer and is retried
 * every QM_WRITER_RETRY_MS.  All I/O is on the ring. */
#include "queue/qmgr.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define QM_WIN_MAX (64 * 1024)		/* the writer's records are small */
#define QM_DSN_CHUNK (64 * 1024)

static void w_on_connect(struct ev_op *op, int res, unsigned flags);
static void w_on_recv(struct ev_op *op, int res, unsigned flags);
static void w_on_send(struct ev_op *op, int res, unsigned flags);
static void w_on_timer(struct ev_op *op, int res, unsigned flags);

static void w_connect(struct qm *qm)
{
	if (qm->stopping || qm->wstate != QM_W_DOWN || qm->wfd >= 0)
		return;
	qm->wfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (qm->wfd < 0) {
		log_warn("queue writer socket: %s", strerror(errno));
		qm->wtimer_busy = 1;
		ev_timeout(&qm->loop, &qm->wtimer_op, &qm->wts,
		    QM_WRITER_RETRY_MS);
		return;
	}
	qm->wstate = QM_W_CONNECTING;
	qm->wconn_busy = 1;
	ev_connect(&qm->loop, &qm->wconn_op, qm->wfd,
	    (struct sockaddr *)&qm->wsun, qm->wsunlen);
}

void qm_writer_start(struct qm *qm)
{
	int n = snprintf(qm->wsun.sun_path, sizeof(qm->wsun.sun_path),
	    "%s/run/%s", qm->conf->state_dir, MTA_QWRITER_SOCK);

	if (n < 0 || (size_t)n >= sizeof(qm->wsun.sun_path))
		fatalx("%s/run/%s: path too long", qm->conf->state_dir,
		    MTA_QWRITER_SOCK);
	qm->wsun.sun_family = AF_UNIX;
	qm->wsunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (size_t)n + 1);
	qm->wfd = -1;
	qm->wconn_op.fn = w_on_connect;
	qm->wrecv_op.fn = w_on_recv;
	qm->wsend_op.fn = w_on_send;
	qm->wtimer_op.fn = w_on_timer;
	buf_init(&qm->wout, 0);
	buf_init(&qm->wwire, 0);
	buf_init(&qm->win, 0);
	w_connect(qm);
}

/* Every DSN waiting for an answer fails (connection lost). */
static void w_fail_dsns(struct qm *qm)
{
	while (qm->dsnsubs != NULL) {
		struct qm_dsnsub *d = qm->dsnsubs;

		qm->dsnsubs = d->next;
		if (d->msg != NULL)
			qm_msg_dsn_result(qm, d->msg, 0);
		free(d);
	}
}

/* Down: close once no op is in flight, then retry later. */
static void w_down(struct qm *qm, const char *why)
{
	if (qm->wstate != QM_W_DOWN) {
		if (why != NULL && qm->wstate != QM_W_CONNECTING)
			log_warn("queue writer connection: %s", why);
		qm->wstate = QM_W_DOWN;
		if (qm->wfd >= 0)
			shutdown(qm->wfd, SHUT_RDWR);
		w_fail_dsns(qm);
	}
	if (qm->wfd < 0 || qm->wrecv_busy || qm->wsend_busy || qm->wconn_busy)
		return;
	close(qm->wfd);
	qm->wfd = -1;
	buf_reset(&qm->wout);
	buf_reset(&qm->wwire);
	buf_reset(&qm->win);
	qm->wwire_off = 0;
	if (!qm->stopping && !qm->wtimer_busy) {
		qm->wtimer_busy = 1;
		ev_timeout(&qm->loop, &qm->wtimer_op, &qm->wts,
		    QM_WRITER_RETRY_MS);
	}
}

static void w_on_timer(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, wtimer_op);

	qm->wtimer_busy = 0;
	w_connect(qm);
}

static void w_recv_arm(struct qm *qm)
{
	if (buf_reserve(&qm->win, QM_WIN_MAX) < 0)
		panic("writer input buffer");
	qm->wrecv_busy = 1;
	ev_recv(&qm->loop, &qm->wrecv_op, qm->wfd, qm->win.data + qm->win.len,
	    QM_WIN_MAX - qm->win.len);
}

static void w_on_connect(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, wconn_op);
	size_t off;

	qm->wconn_busy = 0;
	if (res < 0 || qm->wstate != QM_W_CONNECTING) {
		if (res < 0 && !qm->wwarned)
			log_warn("cannot connect to the queue writer %s: %s; "
			    "retrying", qm->wsun.sun_path, strerror(-res));
		qm->wwarned = res < 0;
		qm->wstate = QM_W_CONNECTING;
		w_down(qm, NULL);
		return;
	}
	qm->wwarned = 0;
	qm->wstate = QM_W_SUBSCRIBED;
	off = ipc_begin(&qm->wout, IPC_QM_SUBSCRIBE, 0);
	ipc_end(&qm->wout, off);
	w_recv_arm(qm);
	qm_kick(qm);
}

/* The first CKPT after subscribing: recovery is done, scan the spool. */
static void w_ready(struct qm *qm)
{
	log_info("subscribed to the queue writer; scanning the queue");
	qm->wstate = QM_W_READY;
	qm_scan_start(qm, &qm->scan_in, QM_INCOMING, QM_SCAN_LOAD);
	qm_scan_start(qm, &qm->scan_def, QM_DEFERRED, QM_SCAN_DUE);
	qm_scan_start(qm, &qm->scan_hold, QM_HOLD, QM_SCAN_COUNT);
}

/* The QID attribute (and TEXT, optional) of a writer record. */
static int w_attrs(const struct ipc_msg *m, uint64_t *qid, char *text,
    size_t textlen)
{
	struct ipc_iter it;
	const char *v;
	char id[QID_LEN + 1];
	uint32_t n;
	uint16_t tag;
	int rc, have = 0;

	text[0] = '\0';
	ipc_iter_init(&it, m);
	while ((rc = ipc_next(&it, &tag, &v, &n)) == 1) {
		if (tag == IPC_A_QID && n == QID_LEN) {
			memcpy(id, v, QID_LEN);
			id[QID_LEN] = '\0';
			if (qid_parse(id, qid) < 0)
				return -1;
			have = 1;
		} else if (tag == IPC_A_TEXT) {
			size_t k = n < textlen - 1 ? n : textlen - 1;

			memcpy(text, v, k);
			text[k] = '\0';
			for (size_t i = 0; i < k; i++)
				if ((unsigned char)text[i] < 0x20)
					text[i] = ' ';
		} else {
			return -1;
		}
	}
	return rc < 0 ? -1 : have;
}

static void w_dsn_answer(struct qm *qm, const struct ipc_msg *m, uint64_t qid,
    const char *text)
{
	struct qm_dsnsub **pp = &qm->dsnsubs, *d;
	char orig[QID_LEN + 1], nid[QID_LEN + 1];

	while (*pp != NULL && (*pp)->id != m->hdr.id)
		pp = &(*pp)->next;
	if ((d = *pp) == NULL)
		return;		/* not ours (any more) */
	*pp = d->next;
	qid_format(d->qid, orig);
	if (m->hdr.type == IPC_QW_QUEUED) {
		qid_format(qid, nid);
		log_info("%s: sender %s notification: %s", orig, d->delayed ?
		    "delay" : "non-delivery", nid);
	} else {
		log_warn("%s: the queue writer refused the %s notification: %s",
		    orig, d->delayed ? "delay" : "non-delivery", text);
	}
	if (d->msg != NULL)
		qm_msg_dsn_result(qm, d->msg, m->hdr.type == IPC_QW_QUEUED);
	free(d);
}

/* One record from the writer; -1 if it makes no sense. */
static int w_record(struct qm *qm, const struct ipc_msg *m)
{
	char text[256];
	uint64_t qid = 0;
	int have = w_attrs(m, &qid, text, sizeof(text));

	if (have < 0)
		return -1;
	switch (m->hdr.type) {
	case IPC_QM_CKPT:
		if (!have)
			return -1;
		if (qid > qm->watermark)
			qm->watermark = qid;
		if (strcmp(text, "rescan") == 0)
			qm->rescan_incoming = 1;
		if (qm->wstate == QM_W_SUBSCRIBED)
			w_ready(qm);
		qm_kick(qm);
		return 0;
	case IPC_QM_NEW:
		if (!have)
			return -1;
		if (qm->wstate == QM_W_READY)
			qm_backlog_push(qm, qid);
		return 0;
	case IPC_QW_QUEUED:
		if (!have)
			return -1;
		/* fall through */
	case IPC_QW_TEMPFAIL:
	case IPC_QW_REJECT:
		w_dsn_answer(qm, m, qid, text);
		return 0;
	default:
		return -1;
	}
}

static void w_on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, wrecv_op);
	size_t at = 0;

	qm->wrecv_busy = 0;
	if (res <= 0 || qm->wstate == QM_W_DOWN) {
		w_down(qm, res == 0 ? "closed by the writer" : res < 0 ?
		    strerror(-res) : NULL);
		return;
	}
	qm->win.len += (size_t)res;
	for (;;) {
		struct ipc_msg m;
		long used = ipc_decode(qm->win.data + at, qm->win.len - at, &m);

		if (used == 0 && qm->win.len - at >= IPC_HDR_LEN &&
		    m.hdr.len > QM_WIN_MAX - IPC_HDR_LEN)
			used = -EPROTO;
		if (used < 0 || (used > 0 && w_record(qm, &m) < 0)) {
			w_down(qm, "unexpected record from the writer");
			return;
		}
		if (used == 0)
			break;
		at += (size_t)used;
	}
	buf_consume(&qm->win, at);
	w_recv_arm(qm);
}

static void w_on_send(struct ev_op *op, int res, unsigned flags)
{
	struct qm *qm = container_of(op, struct qm, wsend_op);

	qm->wsend_busy = 0;
	if (res < 0 || qm->wstate == QM_W_DOWN) {
		w_down(qm, res < 0 ? strerror(-res) : NULL);
		return;
	}
	qm->wwire_off += (size_t)res;
	qm_writer_flush(qm);
}

void qm_writer_flush(struct qm *qm)
{
	size_t n;

	if (qm->wsend_busy || qm->wstate < QM_W_SUBSCRIBED || qm->wfd < 0 ||
	    (n = buf_flip(&qm->wwire, &qm->wwire_off, &qm->wout)) == 0)
		return;
	qm->wsend_busy = 1;
	ev_send(&qm->loop, &qm->wsend_op, qm->wfd,
	    qm->wwire.data + qm->wwire_off, n);
}

int qm_writer_submit(struct qm *qm, struct qm_msg *m,
    const struct qm_msg *orig, const struct buf *body, int delayed)
{
	struct qm_dsnsub *d;
	char size[24];
	size_t off;

	if (qm->wstate != QM_W_READY)
		return -ENOTCONN;
	d = xcalloc(1, sizeof(*d));
	d->id = ++qm->next_dsn_id;
	d->qid = orig->qid;
	d->msg = m;
	d->delayed = delayed;
	d->next = qm->dsnsubs;
	qm->dsnsubs = d;
	off = ipc_begin(&qm->wout, IPC_QW_BEGIN, d->id);
	ipc_put_str(&qm->wout, IPC_A_ORIGIN, "qmgr");
	ipc_put_str(&qm->wout, IPC_A_SENDER, "");
	ipc_put_str(&qm->wout, IPC_A_RCPT, orig->sender);
	/* The original's headers are returned: 8-bit if it was. */
	ipc_put_str(&qm->wout, IPC_A_BODY, strcmp(orig->body, "7BIT") != 0 ?
	    "8BITMIME" : "7BIT");
	if (orig->smtputf8)
		ipc_put(&qm->wout, IPC_A_SMTPUTF8, "", 0);
	snprintf(size, sizeof(size), "%zu", body->len);
	ipc_put_str(&qm->wout, IPC_A_SIZE, size);
	ipc_end(&qm->wout, off);
	for (size_t at = 0; at < body->len; at += QM_DSN_CHUNK)
		ipc_put_raw(&qm->wout, IPC_QW_DATA, d->id, body->data + at,
		    body->len - at < QM_DSN_CHUNK ? body->len - at :
		    QM_DSN_CHUNK);
	off = ipc_begin(&qm->wout, IPC_QW_COMMIT, d->id);
	ipc_end(&qm->wout, off);
	qm_kick(qm);
	return 0;
}
