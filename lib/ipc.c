/* ipc: record encoding/decoding and fd passing; see ipc.h.  Header and
 * attribute fields are little-endian fixed width (same host, but explicit
 * widths keep the decoder simple to fuzz). */
#include "lib/ipc.h"
#include "lib/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define IPC_ATTR_HDR 6	/* u16 tag, u32 len */

static void put_u16(char *p, uint16_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)(v >> 8);
}

static void put_u32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)((v >> (8 * i)) & 0xff);
}

static uint16_t get_u16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint16_t)(u[0] | (u[1] << 8));
}

static uint32_t get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
	    (uint32_t)u[3] << 24;
}

static uint64_t get_u64(const char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

size_t ipc_begin(struct buf *out, uint16_t type, uint64_t id)
{
	char h[IPC_HDR_LEN];
	size_t off = out->len;

	put_u16(h, type);
	put_u16(h + 2, 0);
	put_u32(h + 4, 0);
	put_u32(h + 8, (uint32_t)id);
	put_u32(h + 12, (uint32_t)(id >> 32));
	if (buf_append(out, h, sizeof(h)) < 0)
		panic("ipc_begin: buffer limit");
	return off;
}

void ipc_put(struct buf *out, uint16_t tag, const void *val, size_t len)
{
	char h[IPC_ATTR_HDR];

	if (len > IPC_PAYLOAD_MAX)
		panic("ipc_put: attribute of %zu bytes", len);
	put_u16(h, tag);
	put_u32(h + 2, (uint32_t)len);
	if (buf_append(out, h, sizeof(h)) < 0 || buf_append(out, val, len) < 0)
		panic("ipc_put: buffer limit");
}

void ipc_put_str(struct buf *out, uint16_t tag, const char *s)
{
	ipc_put(out, tag, s, strlen(s));
}

void ipc_end(struct buf *out, size_t off)
{
	size_t len = out->len - off - IPC_HDR_LEN;

	if (len > IPC_PAYLOAD_MAX)
		panic("ipc_end: record of %zu bytes", len);
	put_u32(out->data + off + 4, (uint32_t)len);
}

void ipc_put_raw(struct buf *out, uint16_t type, uint64_t id,
    const void *p, size_t len)
{
	size_t off = ipc_begin(out, type, id);

	if (buf_append(out, p, len) < 0)
		panic("ipc_put_raw: buffer limit");
	ipc_end(out, off);
}

long ipc_decode(const char *data, size_t len, struct ipc_msg *m)
{
	if (len < IPC_HDR_LEN)
		return 0;
	m->hdr.type = get_u16(data);
	m->hdr.flags = get_u16(data + 2);
	m->hdr.len = get_u32(data + 4);
	m->hdr.id = get_u64(data + 8);
	if (m->hdr.type == IPC_NONE || m->hdr.type >= IPC_TYPE_MAX ||
	    m->hdr.len > IPC_PAYLOAD_MAX)
		return -EPROTO;
	if (len - IPC_HDR_LEN < m->hdr.len)
		return 0;
	m->payload = data + IPC_HDR_LEN;
	return (long)(IPC_HDR_LEN + m->hdr.len);
}

void ipc_iter_init(struct ipc_iter *it, const struct ipc_msg *m)
{
	it->p = m->payload;
	it->rem = m->hdr.len;
}

int ipc_next(struct ipc_iter *it, uint16_t *tag, const char **val,
    uint32_t *len)
{
	uint32_t n;

	if (it->rem == 0)
		return 0;
	if (it->rem < IPC_ATTR_HDR)
		return -EPROTO;
	*tag = get_u16(it->p);
	n = get_u32(it->p + 2);
	if (n > it->rem - IPC_ATTR_HDR)
		return -EPROTO;
	*val = it->p + IPC_ATTR_HDR;
	*len = n;
	it->p += IPC_ATTR_HDR + n;
	it->rem -= IPC_ATTR_HDR + n;
	return 1;
}

int ipc_read_msg(int fd, struct buf *in, struct ipc_msg *m)
{
	char tmp[4096];

	for (;;) {
		long used = ipc_decode(in->data, in->len, m);
		ssize_t n;

		if (used < 0)
			return (int)used;
		if (used > 0) {
			/* Caller consumes with buf_consume(in, IPC_HDR_LEN + len). */
			return 0;
		}
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if (buf_append(in, tmp, (size_t)n) < 0)
			return -EPROTO;
	}
}

int ipc_send_fd(int sock, const void *buf, size_t len, int fd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n >= 0)
			return n == (ssize_t)len ? 0 : -EMSGSIZE;
		if (errno != EINTR)
			return -errno;
	}
}

long ipc_recv_fd(int sock, void *buf, size_t len, int *fd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}
