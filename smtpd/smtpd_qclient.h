/* smtpd_qclient: the queue-writer client of one smtpd worker.  One Unix
 * socket connection to $state_dir/run/qwriter.sock carries every
 * transaction of the process, multiplexed by record id (BEGIN, DATA...,
 * COMMIT or ABORT; the writer answers QUEUED, TEMPFAIL or REJECT).  All
 * I/O is on the ring; records are batched and sent from before_sleep.  A
 * lost connection fails the open transactions (451 4.3.0) and is retried
 * with backoff.  It implements struct smtpd_sink_ops for the sessions. */
#ifndef SMTPD_QCLIENT_H
#define SMTPD_QCLIENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "smtpd/smtpd.h"

#define SMTPD_QC_HIGH (4u << 20)	/* unsent bytes: sessions wait */
#define SMTPD_QC_LOW (1u << 20)		/* ... until below this */
#define SMTPD_QC_BACKOFF_MIN 100	/* ms */
#define SMTPD_QC_BACKOFF_MAX 5000

enum smtpd_qc_state { SMTPD_QC_DOWN, SMTPD_QC_CONNECTING, SMTPD_QC_UP };

struct smtpd_qslot {
	struct smtpd_qtxn *t;	/* NULL: free */
	uint32_t gen;
	uint32_t next_free;	/* index + 1; 0 ends the list */
};

struct smtpd_qclient {
	struct ev_loop *loop;
	struct sockaddr_un sun;
	socklen_t sunlen;
	enum smtpd_qc_state state;
	int fd;
	int stopping;		/* no reconnects */
	struct ev_op conn_op, recv_op, send_op, timer_op;
	int conn_busy, recv_busy, send_busy, timer_busy;
	struct __kernel_timespec ts;
	unsigned backoff;	/* ms */
	int warned;		/* the first failure of a series was logged */
	struct buf out;		/* records waiting to be sent */
	struct buf wire;	/* the send in flight */
	size_t wire_off;
	struct buf in;		/* replies received */
	struct smtpd_qslot *slots;
	uint32_t nslots, free_head;
	size_t open;		/* transactions registered */
	struct smtpd_qtxn *waiters;
};

/* Set up (no I/O yet); state_dir locates run/qwriter.sock.  0 or
 * -ENAMETOOLONG. */
int smtpd_qclient_init(struct smtpd_qclient *qc, struct ev_loop *loop,
    const char *state_dir);
/* Connect (and keep reconnecting). */
void smtpd_qclient_start(struct smtpd_qclient *qc);
/* before_sleep: send the records queued this turn. */
void smtpd_qclient_flush(struct smtpd_qclient *qc);
/* Stop reconnecting (process exit). */
void smtpd_qclient_stop(struct smtpd_qclient *qc);
/* The sink interface (ctx is the struct smtpd_qclient). */
extern const struct smtpd_sink_ops smtpd_qclient_ops;
#endif
