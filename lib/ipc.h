/* ipc: typed records over Unix stream sockets, with fd passing.  Every
 * record is a fixed header (type, flags, length, id) and a payload of
 * attributes (tag, length, value).  The receiver validates every length;
 * a less privileged peer is untrusted input.  The type enum is versioned:
 * new types are added at the end, never renumbered. */
#ifndef LIB_IPC_H
#define LIB_IPC_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define IPC_VERSION 1
#define IPC_HDR_LEN 16
#define IPC_PAYLOAD_MAX (256 * 1024)

enum ipc_type {
	IPC_NONE = 0,
	/* client (smtpd, sendmail) -> queue writer */
	IPC_QW_BEGIN = 1,	/* envelope attributes; id = client's txn id */
	IPC_QW_DATA = 2,	/* raw content bytes (CRLF lines, unstuffed) */
	IPC_QW_COMMIT = 3,	/* end of content: make it durable */
	IPC_QW_ABORT = 4,	/* forget the transaction */
	/* queue writer -> client */
	IPC_QW_QUEUED = 5,	/* attr QID: durable */
	IPC_QW_TEMPFAIL = 6,	/* attr TEXT: not queued, try later (452 4.3.1) */
	IPC_QW_REJECT = 7,	/* attr TEXT: not queued, permanent (554) */
	/* queue manager <-> queue writer (docs/delivery-protocol.md) */
	IPC_QM_SUBSCRIBE = 8,	/* qmgr -> writer: send NEW and CKPT */
	IPC_QM_NEW = 9,		/* writer -> qmgr: attr QID now in incoming/ */
	IPC_QM_CKPT = 10,	/* writer -> qmgr: attr QID: every ID <= it is
				 * durable without the journal */
	/* delivery agents <-> queue manager */
	IPC_AG_HELLO = 11,	/* agent -> qmgr: attrs KIND, SLOTS */
	IPC_AG_JOB = 12,	/* qmgr -> agent, queue file fd attached */
	IPC_AG_RCPT = 13,	/* agent -> qmgr: one recipient's result */
	IPC_AG_DONE = 14,	/* agent -> qmgr: job finished, fd closed */
	/* mtactl <-> queue manager */
	IPC_CTL_REQ = 15,	/* attrs CMD, ARG */
	IPC_CTL_REPLY = 16,	/* attrs TEXT (output), STATUS (exit code) */
	IPC_TYPE_MAX
};

enum ipc_attr {
	IPC_A_SENDER = 1,	/* envelope sender, "" for <> */
	IPC_A_RCPT = 2,		/* one per recipient */
	IPC_A_CLIENT = 3,	/* client address text */
	IPC_A_HELO = 4,		/* EHLO/HELO argument */
	IPC_A_BODY = 5,		/* "7BIT", "8BITMIME" or "BINARYMIME" */
	IPC_A_SMTPUTF8 = 6,	/* present: SMTPUTF8 requested */
	IPC_A_ORIGIN = 7,	/* "smtp" or "sendmail" */
	IPC_A_QID = 8,
	IPC_A_TEXT = 9,
	IPC_A_UID = 10,		/* sendmail: submitting uid (decimal) */
	IPC_A_SIZE = 11,	/* content size declared (decimal) */
	IPC_A_KIND = 12,	/* agent kind: "remote" or "local" */
	IPC_A_SLOTS = 13,	/* jobs an agent takes at once (decimal) */
	IPC_A_NEXTHOP = 14,	/* job's next hop (delivery-protocol.md) */
	IPC_A_RCPT_IDX = 15,	/* recipient index in the queue file */
	IPC_A_CLASS = 16,	/* "sent", "deferred" or "bounced" */
	IPC_A_DSN = 17,		/* enhanced status code "X.Y.Z" */
	IPC_A_RELAY = 18,	/* "host[addr]:port" or "none" */
	IPC_A_CMD = 19,		/* control command word */
	IPC_A_ARG = 20,		/* control command argument */
	IPC_A_STATUS = 21,	/* control reply exit status (decimal) */
	IPC_A_MAX
};

struct ipc_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t len;		/* payload length */
	uint64_t id;
};

/* A decoded record; payload points into the caller's buffer. */
struct ipc_msg {
	struct ipc_hdr hdr;
	const char *payload;
};

/* Start a record of type/id in out; returns its offset for ipc_end. */
size_t ipc_begin(struct buf *out, uint16_t type, uint64_t id);
/* Append one attribute to the record begun at off. */
void ipc_put(struct buf *out, uint16_t tag, const void *val, size_t len);
/* Append a NUL-terminated string attribute. */
void ipc_put_str(struct buf *out, uint16_t tag, const char *s);
/* Finish the record begun at off (fills in the length). */
void ipc_end(struct buf *out, size_t off);
/* Append a whole record whose payload is raw bytes (IPC_QW_DATA). */
void ipc_put_raw(struct buf *out, uint16_t type, uint64_t id,
    const void *p, size_t len);

/* Decode one record from data[0..len).  Returns the bytes it used, 0 if
 * more are needed, -EPROTO for a bad type or oversized length. */
long ipc_decode(const char *data, size_t len, struct ipc_msg *m);

/* Attribute iterator over a record payload. */
struct ipc_iter {
	const char *p;
	size_t rem;
};
void ipc_iter_init(struct ipc_iter *it, const struct ipc_msg *m);
/* 1 and the next attribute, 0 at the end, -EPROTO when malformed. */
int ipc_next(struct ipc_iter *it, uint16_t *tag, const char **val,
    uint32_t *len);

/* Blocking helpers for simple clients (sendmail, mtactl); records are
 * sent with fdio_send_all (lib/fdio.h). */
/* Read one record into in (grows); 0, -EPIPE at EOF, -EPROTO, -errno. */
int ipc_read_msg(int fd, struct buf *in, struct ipc_msg *m);
/* Send bytes with an fd attached (SCM_RIGHTS). */
int ipc_send_fd(int sock, const void *buf, size_t len, int fd);
/* Receive up to len bytes and an fd (-1 if none came). */
long ipc_recv_fd(int sock, void *buf, size_t len, int *fd);
#endif
