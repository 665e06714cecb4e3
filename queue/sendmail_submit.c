/* sendmail_submit: the sendmail command's conversation with the queue
 * writer over run/qwriter.sock: BEGIN (ORIGIN sendmail, SENDER, RCPTs,
 * BODY, SMTPUTF8, SIZE), DATA in records of at most IPC_PAYLOAD_MAX bytes,
 * COMMIT, then one answer.  Blocking; the writer identifies our uid from
 * the socket itself.  Only IPC_QW_QUEUED means success. */
#include "queue/sendmail.h"
#include "lib/fdio.h"
#include "lib/ipc.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#define SENDMAIL_TIMEOUT 300	/* seconds for any one socket operation */
#define SENDMAIL_TXN_ID 1

static int sm_connect(const char *path, char *err, size_t errlen)
{
	struct timeval tv = { SENDMAIL_TIMEOUT, 0 };
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "queue writer not running (%s: %s)",
		    path, strerror(errno));
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The BEGIN record; -EMSGSIZE if the envelope does not fit one record. */
static int sm_begin(struct buf *out, const char *sender,
    const struct sendmail_rcpts *rc, size_t size, int eightbit, int utf8)
{
	size_t need = 6 * 5 + strlen("sendmail") + strlen(sender) + 8 + 24, off;
	char num[32];

	for (size_t i = 0; i < rc->n; i++)
		need = size_add(need, 6 + strlen(rc->v[i]));
	if (need > IPC_PAYLOAD_MAX)
		return -EMSGSIZE;
	off = ipc_begin(out, IPC_QW_BEGIN, SENDMAIL_TXN_ID);
	ipc_put_str(out, IPC_A_ORIGIN, "sendmail");
	ipc_put_str(out, IPC_A_SENDER, sender);
	for (size_t i = 0; i < rc->n; i++)
		ipc_put_str(out, IPC_A_RCPT, rc->v[i]);
	ipc_put_str(out, IPC_A_BODY, eightbit ? "8BITMIME" : "7BIT");
	if (utf8)
		ipc_put(out, IPC_A_SMTPUTF8, "", 0);
	snprintf(num, sizeof(num), "%zu", size);
	ipc_put_str(out, IPC_A_SIZE, num);
	ipc_end(out, off);
	return 0;
}

static int sm_send(int fd, const char *sender, const struct sendmail_rcpts *rc,
    const struct buf *content, int eightbit, int utf8)
{
	struct buf out;
	size_t done = 0;
	int r;

	buf_init(&out, 0);
	if ((r = sm_begin(&out, sender, rc, content->len, eightbit, utf8)) < 0)
		goto out;
	while (r == 0 && done < content->len) {
		size_t n = content->len - done;

		if (n > IPC_PAYLOAD_MAX)
			n = IPC_PAYLOAD_MAX;
		ipc_put_raw(&out, IPC_QW_DATA, SENDMAIL_TXN_ID,
		    content->data + done, n);
		r = fdio_send_all(fd, out.data, out.len);
		buf_reset(&out);
		done += n;
	}
	if (r == 0) {
		ipc_put_raw(&out, IPC_QW_COMMIT, SENDMAIL_TXN_ID, NULL, 0);
		r = fdio_send_all(fd, out.data, out.len);
	}
out:
	buf_free(&out);
	return r;
}

/* Wait for the answer to our COMMIT. */
static int sm_answer(int fd, char *err, size_t errlen)
{
	struct ipc_msg m;
	struct ipc_iter it;
	struct buf in;
	const char *v;
	const char *text = "no reason given";
	uint32_t n, tlen = (uint32_t)strlen(text);
	uint16_t tag;
	int r;

	buf_init(&in, IPC_HDR_LEN + IPC_PAYLOAD_MAX);
	r = ipc_read_msg(fd, &in, &m);
	if (r < 0) {
		snprintf(err, errlen, "no answer from the queue writer: %s",
		    r == -EPIPE ? "connection closed" : strerror(-r));
		buf_free(&in);
		return EX_TEMPFAIL;
	}
	ipc_iter_init(&it, &m);
	while (ipc_next(&it, &tag, &v, &n) == 1)
		if (tag == IPC_A_TEXT)
			text = v, tlen = n;
	if (m.hdr.type == IPC_QW_QUEUED && m.hdr.id == SENDMAIL_TXN_ID)
		r = EX_OK;
	else if (m.hdr.type == IPC_QW_REJECT)
		r = EX_DATAERR;
	else
		r = EX_TEMPFAIL;
	if (r != EX_OK)
		snprintf(err, errlen, "message not queued: %.*s",
		    (int)(tlen > 500 ? 500 : tlen), text);
	buf_free(&in);
	return r;
}

int sendmail_submit(const char *sock_path, const char *sender,
    const struct sendmail_rcpts *rc, const struct buf *content, int eightbit,
    int smtputf8, char *err, size_t errlen)
{
	int fd, r;

	err[0] = '\0';
	if ((fd = sm_connect(sock_path, err, errlen)) < 0)
		return EX_TEMPFAIL;
	r = sm_send(fd, sender, rc, content, eightbit, smtputf8);
	if (r == -EMSGSIZE) {
		snprintf(err, errlen, "too many recipients for one message");
		close(fd);
		return EX_DATAERR;
	}
	/* Even after a send error the writer may have said why. */
	r = sm_answer(fd, err, errlen);
	close(fd);
	return r;
}
