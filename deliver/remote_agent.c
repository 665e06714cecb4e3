/* remote_agent: the queue manager link; see remote_agent.h.  Descriptors
 * arrive with the first bytes of the sendmsg that carried them, and the
 * kernel never merges two such sendmsgs into one recvmsg, so they form a
 * FIFO: each JOB record, in order, claims the next descriptor.  A JOB
 * without one, or a descriptor for the wrong file (the QID inside the
 * file is checked), is a malformed job, answered deferred.  Anything that
 * breaks the record stream itself breaks the link. */
#include "deliver/remote_agent.h"
#include "deliver/remote_job.h"
#include "deliver/remote_run.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REMOTE_AGENT_RBUF (64 * 1024)
#define REMOTE_AGENT_IN_MAX (IPC_HDR_LEN + IPC_PAYLOAD_MAX + REMOTE_AGENT_RBUF)

static void on_connect(struct ev_op *op, int res, unsigned flags);
static void on_recv(struct ev_op *op, int res, unsigned flags);
static void on_send(struct ev_op *op, int res, unsigned flags);

void remote_agent_init(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->rbuf_len = REMOTE_AGENT_RBUF;
	a->rbuf = xmalloc(a->rbuf_len);
	a->fdq = xcalloc(REMOTE_AGENT_FDQ_MAX, sizeof(*a->fdq));
	buf_init(&a->in, REMOTE_AGENT_IN_MAX);
	buf_init(&a->out, 0);
	buf_init(&a->wire, 0);
	a->conn_op.fn = on_connect;
	a->recv_op.fn = on_recv;
	a->send_op.fn = on_send;
}

/* $state_dir/run/agent.sock, or through /proc/self/fd when too long. */
static int sock_path(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;
	static int dirfd = -1;
	char dir[4200];
	int n;

	memset(&a->sun, 0, sizeof(a->sun));
	a->sun.sun_family = AF_UNIX;
	n = snprintf(a->sun.sun_path, sizeof(a->sun.sun_path), "%s/run/%s",
	    rm->conf->state_dir, MTA_AGENT_SOCK);
	if (n < 0 || (size_t)n >= sizeof(a->sun.sun_path)) {
		if (dirfd < 0) {
			snprintf(dir, sizeof(dir), "%s/run", rm->conf->state_dir);
			dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dirfd < 0)
				return -errno;
		}
		snprintf(a->sun.sun_path, sizeof(a->sun.sun_path),
		    "/proc/self/fd/%d/%s", dirfd, MTA_AGENT_SOCK);
	}
	a->sunlen = (socklen_t)sizeof(a->sun);
	return 0;
}

void remote_agent_tick(struct remote *rm, uint64_t now)
{
	struct remote_agent *a = &rm->agent;

	if (a->fd >= 0 || a->closing || now < a->retry_at || rm->stopping)
		return;
	a->retry_at = now + REMOTE_RECONNECT_MS;
	if (sock_path(rm) < 0)
		return;
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		log_warn("agent socket: %s", strerror(errno));
		return;
	}
	a->connecting = 1;
	a->conn_busy = 1;
	ev_connect(&rm->loop, &a->conn_op, a->fd, (struct sockaddr *)&a->sun,
	    a->sunlen);
}

static void drop_fds(struct remote_agent *a)
{
	for (size_t i = 0; i < a->nfdq; i++)
		close(a->fdq[i].fd);
	a->nfdq = 0;
}

/* All ops done after a break: close, and connect again later. */
static void maybe_closed(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;

	if (!a->closing || a->conn_busy || a->recv_busy || a->send_busy)
		return;
	close(a->fd);
	a->fd = -1;
	a->closing = 0;
	a->retry_at = remote_now_ms() + REMOTE_RECONNECT_MS;
}

static void link_break(struct remote *rm, const char *why)
{
	struct remote_agent *a = &rm->agent;

	if (a->fd < 0 || a->closing)
		return;
	/* A queue manager that keeps refusing us is worth a line a minute,
	 * not one a second. */
	if (a->up && (rm->njobs > 0 || remote_now_ms() >= a->warned_at)) {
		log_warn("connection to the queue manager lost (%s); %zu "
		    "job(s) dropped", why, rm->njobs);
		a->warned_at = remote_now_ms() + 60000;
	}
	a->up = a->connecting = 0;
	a->closing = 1;
	if (a->conn_busy || a->recv_busy || a->send_busy)
		ev_cancel_fd(&rm->loop, a->fd);
	drop_fds(a);
	buf_reset(&a->in);
	a->in_base = 0;
	buf_reset(&a->out);
	buf_reset(&a->wire);
	a->wire_off = 0;
	remote_run_abort_jobs(rm);
	maybe_closed(rm);
}

static void arm_recv(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;

	if (a->recv_busy || !a->up || a->closing || a->noread)
		return;
	memset(&a->mh, 0, sizeof(a->mh));
	a->iov.iov_base = a->rbuf;
	a->iov.iov_len = a->rbuf_len;
	a->mh.msg_iov = &a->iov;
	a->mh.msg_iovlen = 1;
	a->mh.msg_control = a->cmsg.b;
	a->mh.msg_controllen = sizeof(a->cmsg.b);
	a->recv_busy = 1;
	ev_recvmsg(&rm->loop, &a->recv_op, a->fd, &a->mh);
}

static void send_hello(struct remote *rm)
{
	struct buf *out = &rm->agent.out;
	char slots[16];
	size_t off;

	snprintf(slots, sizeof(slots), "%u", rm->slots);
	off = ipc_begin(out, IPC_AG_HELLO, 0);
	ipc_put_str(out, IPC_A_KIND, "remote");
	ipc_put_str(out, IPC_A_SLOTS, slots);
	ipc_end(out, off);
}

static void on_connect(struct ev_op *op, int res, unsigned flags)
{
	struct remote *rm = container_of(op, struct remote, agent.conn_op);
	struct remote_agent *a = &rm->agent;

	(void)flags;
	a->conn_busy = 0;
	a->connecting = 0;
	if (a->closing) {
		maybe_closed(rm);
		return;
	}
	if (res < 0) {
		log_debug("connect to %s: %s", a->sun.sun_path, strerror(-res));
		close(a->fd);
		a->fd = -1;
		return;
	}
	a->up = 1;
	a->gen++;
	log_debug("connected to the queue manager");
	send_hello(rm);
	arm_recv(rm);
}

/* Where the last record starting at or after rel (an offset in the
 * input buffer, whose start is a record start) begins, or -1. */
static long last_start(const struct buf *in, size_t rel)
{
	size_t pos = 0;
	long last = -1;

	while (pos < in->len) {
		const unsigned char *h = (const unsigned char *)in->data + pos;
		uint32_t len;

		if (pos >= rel)
			last = (long)pos;
		if (in->len - pos < IPC_HDR_LEN)
			break;
		len = (uint32_t)h[4] | (uint32_t)h[5] << 8 |
		    (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
		if (len > IPC_PAYLOAD_MAX)
			break;
		pos += IPC_HDR_LEN + len;
	}
	return last;
}

/* Tag the descriptors of one recvmsg with the record they came with; the
 * read's bytes start at offset rel of the input buffer (rel < 0: the read
 * is refused, close them).  0 or -EPROTO. */
static int take_fds(struct remote_agent *a, long rel)
{
	long at = rel < 0 ? -1 : last_start(&a->in, (size_t)rel);
	struct cmsghdr *c;
	int rc = 0;

	for (c = CMSG_FIRSTHDR(&a->mh); c != NULL; c = CMSG_NXTHDR(&a->mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (at >= 0 && a->nfdq < REMOTE_AGENT_FDQ_MAX) {
				a->fdq[a->nfdq].at = a->in_base + (uint64_t)at;
				a->fdq[a->nfdq++].fd = fd;
			} else {
				close(fd);
				rc = -EPROTO;
			}
		}
	}
	if (a->mh.msg_flags & MSG_CTRUNC)
		rc = -EPROTO;
	return rc;
}

/* The descriptor of the record at in_base; older unclaimed ones (sent
 * with a record that was no JOB) and extra ones are closed. */
static int claim_fd(struct remote_agent *a)
{
	int fd = -1;
	size_t k = 0;

	for (size_t i = 0; i < a->nfdq; i++) {
		if (a->fdq[i].at > a->in_base)
			a->fdq[k++] = a->fdq[i];
		else if (a->fdq[i].at == a->in_base && fd < 0)
			fd = a->fdq[i].fd;
		else
			close(a->fdq[i].fd);
	}
	a->nfdq = k;
	return fd;
}

static void take_job(struct remote *rm, const struct ipc_msg *m)
{
	struct remote_job *j = xcalloc(1, sizeof(*j));
	int fd = claim_fd(&rm->agent);
	int ok = remote_job_parse(j, m, REMOTE_JOB_RCPT_MAX) == 0;

	if (fd < 0) {
		if (j->bad == NULL)
			j->bad = "no queue file descriptor";
	} else if (ok) {
		remote_job_load(j, fd);
	} else {
		j->fd = fd;
	}
	if (j->bad == NULL && rm->njobs >= 2 * (size_t)rm->slots)
		j->bad = "more jobs than slots";
	remote_run_dispatch(rm, j);
}

int remote_agent_input(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;
	struct ipc_msg m;
	long used;

	while ((used = ipc_decode(a->in.data, a->in.len, &m)) > 0) {
		if (m.hdr.type == IPC_AG_JOB)
			take_job(rm, &m);
		else
			log_warn("queue manager sent a record of type %u; "
			    "ignored", m.hdr.type);
		buf_consume(&a->in, (size_t)used);
		a->in_base += (uint64_t)used;
		if (!a->up)
			return 0;	/* a job's dispatch broke the link */
	}
	return used < 0 ? -EPROTO : 0;
}

static void on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct remote *rm = container_of(op, struct remote, agent.recv_op);
	struct remote_agent *a = &rm->agent;
	long rel;

	(void)flags;
	a->recv_busy = 0;
	if (a->closing) {
		maybe_closed(rm);
		return;
	}
	if (res == -ECANCELED && a->noread)
		return;
	if (res <= 0) {
		link_break(rm, res == 0 ? "closed" : strerror(-res));
		return;
	}
	rel = (long)a->in.len;
	if (buf_append(&a->in, a->rbuf, (size_t)res) < 0) {
		take_fds(a, -1);
		link_break(rm, "record too long");
		return;
	}
	if (take_fds(a, rel) < 0) {
		link_break(rm, "descriptors lost");
		return;
	}
	if (remote_agent_input(rm) < 0) {
		link_break(rm, "malformed record");
		return;
	}
	arm_recv(rm);
}

static void send_next(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;
	size_t n;

	if (a->send_busy || !a->up || a->closing)
		return;
	if ((n = buf_flip(&a->wire, &a->wire_off, &a->out)) == 0)
		return;
	a->send_busy = 1;
	ev_send(&rm->loop, &a->send_op, a->fd, a->wire.data + a->wire_off, n);
}

static void on_send(struct ev_op *op, int res, unsigned flags)
{
	struct remote *rm = container_of(op, struct remote, agent.send_op);
	struct remote_agent *a = &rm->agent;

	(void)flags;
	a->send_busy = 0;
	if (a->closing) {
		maybe_closed(rm);
		return;
	}
	if (res <= 0) {
		link_break(rm, res == 0 ? "send failed" : strerror(-res));
		return;
	}
	a->wire_off += (size_t)res;
	send_next(rm);
}

void remote_agent_flush(struct remote *rm)
{
	send_next(rm);
}

void remote_agent_stop_reading(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;

	a->noread = 1;
	if (a->recv_busy && !a->closing)
		ev_cancel_op(&rm->loop, &a->recv_op);
}

int remote_agent_drained(const struct remote *rm)
{
	const struct remote_agent *a = &rm->agent;

	return !a->up || (a->out.len == 0 && a->wire.len == a->wire_off &&
	    !a->send_busy);
}

void remote_agent_exit(struct remote *rm)
{
	struct remote_agent *a = &rm->agent;

	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	drop_fds(a);
	free(a->rbuf);
	free(a->fdq);
	buf_free(&a->in);
	buf_free(&a->out);
	buf_free(&a->wire);
}
