/* agent_link: the queue manager link; see agent_link.h.  Descriptors
 * arrive with the first bytes of the sendmsg that carried them, and the
 * kernel never merges two such sendmsgs into one recvmsg, so they form a
 * FIFO: each JOB record, in order, claims the next descriptor.  A JOB
 * without one, or a descriptor for the wrong file (the QID inside the
 * file is checked), is a malformed job, answered deferred.  Anything that
 * breaks the record stream itself breaks the link. */
#include "deliver/agent_link.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define AGENT_LINK_RBUF (64 * 1024)
#define AGENT_LINK_IN_MAX (IPC_HDR_LEN + IPC_PAYLOAD_MAX + AGENT_LINK_RBUF)

static void on_connect(struct ev_op *op, int res, unsigned flags);
static void on_recv(struct ev_op *op, int res, unsigned flags);
static void on_send(struct ev_op *op, int res, unsigned flags);

void agent_link_init(struct agent_link *l, const struct agent_ops *ops,
    struct ev_loop *loop, const char *state_dir, unsigned slots)
{
	memset(l, 0, sizeof(*l));
	l->ops = ops;
	l->loop = loop;
	l->state_dir = state_dir;
	l->slots = slots;
	l->fd = -1;
	l->rbuf_len = AGENT_LINK_RBUF;
	l->rbuf = xmalloc(l->rbuf_len);
	l->fdq = xcalloc(AGENT_FDQ_MAX, sizeof(*l->fdq));
	buf_init(&l->in, AGENT_LINK_IN_MAX);
	buf_init(&l->out, 0);
	buf_init(&l->wire, 0);
	l->conn_op.fn = on_connect;
	l->recv_op.fn = on_recv;
	l->send_op.fn = on_send;
}

/* $state_dir/run/agent.sock, or through /proc/self/fd when too long. */
static int sock_path(struct agent_link *l)
{
	static int dirfd = -1;
	char dir[4200];
	int n;

	memset(&l->sun, 0, sizeof(l->sun));
	l->sun.sun_family = AF_UNIX;
	n = snprintf(l->sun.sun_path, sizeof(l->sun.sun_path), "%s/run/%s",
	    l->state_dir, MTA_AGENT_SOCK);
	if (n < 0 || (size_t)n >= sizeof(l->sun.sun_path)) {
		if (dirfd < 0) {
			snprintf(dir, sizeof(dir), "%s/run", l->state_dir);
			dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dirfd < 0)
				return -errno;
		}
		snprintf(l->sun.sun_path, sizeof(l->sun.sun_path),
		    "/proc/self/fd/%d/%s", dirfd, MTA_AGENT_SOCK);
	}
	l->sunlen = (socklen_t)sizeof(l->sun);
	return 0;
}

void agent_link_tick(struct agent_link *l, uint64_t now)
{
	if (l->fd >= 0 || l->closing || now < l->retry_at || l->noread)
		return;
	l->retry_at = now + AGENT_RECONNECT_MS;
	if (sock_path(l) < 0)
		return;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		log_warn("agent socket: %s", strerror(errno));
		return;
	}
	l->connecting = 1;
	l->conn_busy = 1;
	ev_connect(l->loop, &l->conn_op, l->fd, (struct sockaddr *)&l->sun,
	    l->sunlen);
}

static void drop_fds(struct agent_link *l)
{
	for (size_t i = 0; i < l->nfdq; i++)
		close(l->fdq[i].fd);
	l->nfdq = 0;
}

/* All ops done after a break: close, and connect again later. */
static void maybe_closed(struct agent_link *l)
{
	if (!l->closing || l->conn_busy || l->recv_busy || l->send_busy)
		return;
	close(l->fd);
	l->fd = -1;
	l->closing = 0;
	l->retry_at = agent_now_ms() + AGENT_RECONNECT_MS;
}

static void link_break(struct agent_link *l, const char *why)
{
	if (l->fd < 0 || l->closing)
		return;
	/* A queue manager that keeps refusing us is worth a line a minute,
	 * not one a second. */
	if (l->up && (l->njobs > 0 || agent_now_ms() >= l->warned_at)) {
		log_warn("connection to the queue manager lost (%s); %zu "
		    "job(s) dropped", why, l->njobs);
		l->warned_at = agent_now_ms() + 60000;
	}
	l->up = l->connecting = 0;
	l->closing = 1;
	if (l->conn_busy || l->recv_busy || l->send_busy)
		ev_cancel_fd(l->loop, l->fd);
	drop_fds(l);
	buf_reset(&l->in);
	l->in_base = 0;
	buf_reset(&l->out);
	buf_reset(&l->wire);
	l->wire_off = 0;
	agent_link_abort_jobs(l);
	maybe_closed(l);
}

static void arm_recv(struct agent_link *l)
{
	if (l->recv_busy || !l->up || l->closing || l->noread)
		return;
	memset(&l->mh, 0, sizeof(l->mh));
	l->iov.iov_base = l->rbuf;
	l->iov.iov_len = l->rbuf_len;
	l->mh.msg_iov = &l->iov;
	l->mh.msg_iovlen = 1;
	l->mh.msg_control = l->cmsg.b;
	l->mh.msg_controllen = sizeof(l->cmsg.b);
	l->recv_busy = 1;
	ev_recvmsg(l->loop, &l->recv_op, l->fd, &l->mh);
}

static void send_hello(struct agent_link *l)
{
	struct buf *out = &l->out;
	char slots[16];
	size_t off;

	snprintf(slots, sizeof(slots), "%u", l->slots);
	off = ipc_begin(out, IPC_AG_HELLO, 0);
	ipc_put_str(out, IPC_A_KIND, l->ops->kind);
	ipc_put_str(out, IPC_A_SLOTS, slots);
	ipc_end(out, off);
}

static void on_connect(struct ev_op *op, int res, unsigned flags)
{
	struct agent_link *l = container_of(op, struct agent_link, conn_op);

	(void)flags;
	l->conn_busy = 0;
	l->connecting = 0;
	if (l->closing) {
		maybe_closed(l);
		return;
	}
	if (res < 0) {
		log_debug("connect to %s: %s", l->sun.sun_path, strerror(-res));
		close(l->fd);
		l->fd = -1;
		return;
	}
	l->up = 1;
	l->gen++;
	log_debug("connected to the queue manager");
	send_hello(l);
	arm_recv(l);
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
static int take_fds(struct agent_link *l, long rel)
{
	long at = rel < 0 ? -1 : last_start(&l->in, (size_t)rel);
	struct cmsghdr *c;
	int rc = 0;

	for (c = CMSG_FIRSTHDR(&l->mh); c != NULL; c = CMSG_NXTHDR(&l->mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (at >= 0 && l->nfdq < AGENT_FDQ_MAX) {
				l->fdq[l->nfdq].at = l->in_base + (uint64_t)at;
				l->fdq[l->nfdq++].fd = fd;
			} else {
				close(fd);
				rc = -EPROTO;
			}
		}
	}
	if (l->mh.msg_flags & MSG_CTRUNC)
		rc = -EPROTO;
	return rc;
}

/* The descriptor of the record at in_base; older unclaimed ones (sent
 * with a record that was no JOB) and extra ones are closed. */
static int claim_fd(struct agent_link *l)
{
	int fd = -1;
	size_t k = 0;

	for (size_t i = 0; i < l->nfdq; i++) {
		if (l->fdq[i].at > l->in_base)
			l->fdq[k++] = l->fdq[i];
		else if (l->fdq[i].at == l->in_base && fd < 0)
			fd = l->fdq[i].fd;
		else
			close(l->fdq[i].fd);
	}
	l->nfdq = k;
	return fd;
}

static void job_link(struct agent_link *l, struct agent_job *j)
{
	j->prev = NULL;
	j->next = l->jobs;
	if (l->jobs != NULL)
		l->jobs->prev = j;
	l->jobs = j;
	l->njobs++;
}

static void job_unlink(struct agent_link *l, struct agent_job *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		l->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->next = j->prev = NULL;
	l->njobs--;
}

static void take_job(struct agent_link *l, const struct ipc_msg *m)
{
	struct agent_job *j = xcalloc(1, l->ops->job_size);
	int fd = claim_fd(l);
	int ok = agent_job_parse(j, m, l->ops->rcpt_max, l->ops->hop) == 0;
	char text[AGENT_TEXT_MAX + 1];

	if (fd < 0) {
		if (j->bad == NULL)
			j->bad = "no queue file descriptor";
	} else if (ok) {
		agent_job_load(j, fd);
	} else {
		j->fd = fd;
	}
	if (j->bad == NULL && l->njobs >= 2 * (size_t)l->slots)
		j->bad = "more jobs than slots";
	job_link(l, j);
	if (j->bad == NULL) {
		l->ops->dispatch(l, j);
		return;
	}
	log_warn("%s: malformed job %llu from the queue manager: %s",
	    j->qid[0] ? j->qid : "-", (unsigned long long)j->id, j->bad);
	snprintf(text, sizeof(text), "malformed delivery job: %s", j->bad);
	agent_job_set_rest(j, AGENT_DEFERRED, AGENT_DSN_FAILED, "none", text);
	agent_link_job_done(l, j);
}

void agent_link_job_done(struct agent_link *l, struct agent_job *j)
{
	job_unlink(l, j);
	if (l->up)
		agent_job_encode(j, &l->out);
	agent_job_free(j);
	free(j);
}

void agent_link_stop_jobs(struct agent_link *l, const char *text)
{
	while (l->jobs != NULL) {
		struct agent_job *j = l->jobs;

		l->ops->abort(l, j);
		agent_job_set_rest(j, AGENT_DEFERRED, AGENT_DSN_FAILED, "none",
		    text);
		agent_link_job_done(l, j);
	}
}

void agent_link_abort_jobs(struct agent_link *l)
{
	while (l->jobs != NULL) {
		struct agent_job *j = l->jobs;

		l->ops->abort(l, j);
		job_unlink(l, j);
		agent_job_free(j);
		free(j);
	}
}

int agent_link_input(struct agent_link *l)
{
	struct ipc_msg m;
	long used;

	while ((used = ipc_decode(l->in.data, l->in.len, &m)) > 0) {
		if (m.hdr.type == IPC_AG_JOB)
			take_job(l, &m);
		else
			log_warn("queue manager sent a record of type %u; "
			    "ignored", m.hdr.type);
		buf_consume(&l->in, (size_t)used);
		l->in_base += (uint64_t)used;
		if (!l->up)
			return 0;	/* a job's dispatch broke the link */
	}
	return used < 0 ? -EPROTO : 0;
}

static void on_recv(struct ev_op *op, int res, unsigned flags)
{
	struct agent_link *l = container_of(op, struct agent_link, recv_op);
	long rel;

	(void)flags;
	l->recv_busy = 0;
	if (l->closing) {
		maybe_closed(l);
		return;
	}
	if (res == -ECANCELED && l->noread)
		return;
	if (res <= 0) {
		link_break(l, res == 0 ? "closed" : strerror(-res));
		return;
	}
	rel = (long)l->in.len;
	if (buf_append(&l->in, l->rbuf, (size_t)res) < 0) {
		take_fds(l, -1);
		link_break(l, "record too long");
		return;
	}
	if (take_fds(l, rel) < 0) {
		link_break(l, "descriptors lost");
		return;
	}
	if (agent_link_input(l) < 0) {
		link_break(l, "malformed record");
		return;
	}
	arm_recv(l);
}

static void send_next(struct agent_link *l)
{
	size_t n;

	if (l->send_busy || !l->up || l->closing)
		return;
	if ((n = buf_flip(&l->wire, &l->wire_off, &l->out)) == 0)
		return;
	l->send_busy = 1;
	ev_send(l->loop, &l->send_op, l->fd, l->wire.data + l->wire_off, n);
}

static void on_send(struct ev_op *op, int res, unsigned flags)
{
	struct agent_link *l = container_of(op, struct agent_link, send_op);

	(void)flags;
	l->send_busy = 0;
	if (l->closing) {
		maybe_closed(l);
		return;
	}
	if (res <= 0) {
		link_break(l, res == 0 ? "send failed" : strerror(-res));
		return;
	}
	l->wire_off += (size_t)res;
	send_next(l);
}

void agent_link_flush(struct agent_link *l)
{
	send_next(l);
}

void agent_link_stop_reading(struct agent_link *l)
{
	l->noread = 1;
	if (l->recv_busy && !l->closing)
		ev_cancel_op(l->loop, &l->recv_op);
}

int agent_link_drained(const struct agent_link *l)
{
	return !l->up || (l->out.len == 0 && l->wire.len == l->wire_off &&
	    !l->send_busy);
}

void agent_link_exit(struct agent_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	drop_fds(l);
	free(l->rbuf);
	free(l->fdq);
	buf_free(&l->in);
	buf_free(&l->out);
	buf_free(&l->wire);
}
