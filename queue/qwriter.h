/* qwriter: the queue writer's state, shared by its files.  One process, one
 * io_uring ring.  A transaction travels client (BEGIN/DATA) -> pending
 * (COMMIT: image built, queue ID assigned) -> group (journal write +
 * fdatasync) -> reply QUEUED -> publish (tmp/ then rename into incoming/)
 * -> freed.  A journal segment is deleted only after every file published
 * from it has been made durable by a checkpoint (syncfs). */
#ifndef QUEUE_QWRITER_H
#define QUEUE_QWRITER_H
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/qid.h"
#include "queue/queue_file.h"
#include "queue/queue_journal.h"
#include "queue/queue_recover.h"

#define QW_RING_ENTRIES 4096
#define QW_RECV_BUFS 64
#define QW_RECV_BUFSZ (64 * 1024)
#define QW_HEADROOM (64 * 1024)		/* content beyond message_size_limit */
#define QW_TXN_BUCKETS 64
#define QW_TXN_MAX_TRUSTED 65536	/* open transactions per client */
#define QW_TXN_MAX_UNTRUSTED 8
#define QW_OUT_MAX (1024 * 1024)	/* unread replies before we give up */
#define QW_NOTIFY_MAX (1024 * 1024)	/* unread NEW notices: drop, rescan */
#define QW_GROUP_MAX_TXNS 4096
#define QW_GROUP_MAX_BYTES (32u << 20)
#define QW_IOV_MAX 1024
#define QW_SEG_MAX (64ull << 20)	/* checkpoint early past this size */
#define QW_PUBLISH_MAX 256		/* publishes in flight */
#define QW_RETRY_MS 1000		/* publish / segment retry */
#define QW_DRAIN_MS 5000		/* SIGTERM: wait for open transactions */
#define QW_FLUSH_MS 10000		/* SIGTERM: wait for publishes */

#define QW_TEXT_DISK "4.3.1 Insufficient system storage"
#define QW_TEXT_SIZE "5.3.4 Message size exceeds fixed maximum message size"
#define QW_TEXT_ADDR "5.1.3 Bad address syntax"
#define QW_TEXT_DOWN "4.3.0 Queue writer shutting down"
#define QW_TEXT_ALIAS_LOOP "4.3.0 Local configuration error: alias loop " \
	"or alias chain too deep"
#define QW_TEXT_ALIAS_MANY "4.3.0 Local configuration error: alias " \
	"expands to too many recipients"
#define QW_TEXT_ALIAS_BAD "4.3.0 Local configuration error: aliases " \
	"file unavailable"
#define QW_EXPANDED_MAX 20000		/* recipients after alias expansion */
#define QW_ALIAS_LOG_TARGETS 10		/* targets named per alias log line */

struct qw;
struct qw_client;
struct aliases;

struct qw_seg {
	uint64_t segno;
	int fd;
	uint64_t size;			/* bytes appended */
	unsigned long unpublished;	/* journaled, file not yet published */
	int failed;			/* a write or sync failed: retired */
	int syncing;			/* covered by the running checkpoint */
	uint64_t min_qid;		/* first record's queue ID, 0: none */
	struct qw_seg *next;
	struct qw *qw;			/* deletion */
	struct ev_op del_op;
	char name[17];
};

enum qw_pub_step { QW_PUB_OPEN, QW_PUB_WRITE, QW_PUB_RENAME };

struct qw_txn {
	struct qw *qw;
	struct qw_client *client;	/* NULL once the client is gone */
	uint64_t id;			/* the client's transaction id */
	struct qw_txn *hnext;		/* client's hash chain (open txns) */
	struct qw_txn *next;		/* pending / group / publish queues */
	struct queue_msg msg;		/* envelope; strings owned */
	struct buf content;
	int err;			/* IPC_QW_TEMPFAIL/REJECT at COMMIT */
	const char *errtext;
	struct buf aliaslog;		/* "alias <a> -> <b>, <c>\n" lines */
	struct buf head;		/* queue file head, built at COMMIT */
	char trailer[QUEUE_TRAILER_LEN + 1];
	char jhdr[JOURNAL_HDR_LEN];
	char name[QID_LEN + 1];
	char dest[QID_LEN + 4];		/* "XX/QID" */
	struct qw_seg *seg;
	/* publishing */
	struct ev_op pub_op, pub_wop, pub_top, pub_cop;
	enum qw_pub_step pub_step;
	int pub_fd, pub_cqes, pub_err;
	int pooled;			/* name is a file in pool/ */
	char pool_name[QID_LEN + 1];
	struct iovec pub_iov[3];
};

struct qw_client {
	struct qw *qw;
	int fd;
	uid_t uid;
	pid_t pid;
	int trusted;			/* may claim ORIGIN smtp */
	int own;			/* the writer's own uid: ORIGIN qmgr,
					 * SUBSCRIBE */
	int closing;
	unsigned ops;			/* ring ops in flight */
	unsigned committed;		/* txns past COMMIT, not yet answered */
	struct ev_op recv_op, send_op;
	int recv_armed, sending;
	/* record parser */
	char hdr[IPC_HDR_LEN];
	size_t hdr_have, need;
	struct ipc_hdr cur;
	struct qw_txn *data_txn;
	struct buf rec;
	/* replies */
	struct buf out, sendbuf;
	size_t sendoff;
	/* open transactions by id */
	struct qw_txn *txns[QW_TXN_BUCKETS];
	unsigned ntxn;
	struct qw_client *prev, *next;
};

struct qw_wop {
	struct ev_op op;
	struct qw *qw;
	size_t expect;
};

struct qw_group {
	int active, failed, err;
	struct qw_seg *seg;
	struct qw_txn *txns;		/* list through next */
	size_t n;
	struct iovec *iov;
	size_t niov, iovcap;
	struct qw_wop *wops;
	size_t nwops, wopcap;
	unsigned outstanding;
	struct qw_wop sync;
};

enum qw_spare { QW_SPARE_NONE, QW_SPARE_OPENING, QW_SPARE_SYNCING,
	QW_SPARE_READY, QW_SPARE_FAILED };
enum qw_job { QW_JOB_NONE, QW_JOB_SYNCFS, QW_JOB_SCAN };
enum qw_drain { QW_RUNNING, QW_DRAIN_OPEN, QW_DRAIN_FLUSH, QW_DRAIN_SYNC,
	QW_DRAIN_DONE };

struct qw {
	struct ev_loop loop;
	const struct conf *conf;
	char spool[4096];
	int spool_fd, journal_fd, tmp_fd, incoming_fd, pool_fd;
	char (*pool)[QID_LEN + 1];	/* names listed in pool/, not yet used */
	size_t npool;
	uint64_t pool_busy[QW_PUBLISH_MAX];	/* pool files being written */
	size_t nbusy;
	uint64_t pool_retry_ms;		/* pool/ was empty: not before this */
	int pool_overwrite;		/* 1: pool files written over in place
					 * and cut with ftruncate on the ring
					 * (ev_has_ftruncate); 0: O_TRUNC */
	size_t content_limit;
	uid_t smtpd_uid;
	int have_smtpd_uid;
	/* listener */
	int listen_fd, own_sock, accepting;
	char sock_path[108];
	struct ev_op accept_op, accept_timer_op;
	struct __kernel_timespec accept_ts;
	struct ev_bufring br;
	struct ev_signal sig;		/* SIGTERM, SIGINT */
	struct qw_client *clients;
	/* the queue manager's subscription (qwriter_notify.c) */
	struct qw_client *subscriber;
	int notify_dropped;		/* NEW notices dropped: rescan */
	uint64_t last_qid;		/* highest queue ID assigned */
	/* aliases_file (qwriter_alias.c) */
	struct aliases *aliases;	/* NULL: never loaded (defer local) */
	int64_t aliases_retry;		/* second of the last load attempt */
	char aliases_err[512];		/* last error logged */
	uint64_t del_lo;		/* lowest ID in segments being deleted */
	struct ev_op jsync_op;		/* journal/ fsync after deletions */
	/* group commit */
	struct qw_txn *pend_head, **pend_tail;
	size_t npend;
	struct qw_group grp;
	/* journal segments */
	struct qw_seg *cur, *spare, *old;
	uint64_t next_segno;
	enum qw_spare spare_state;
	char spare_name[17];
	struct ev_op spare_op, spare_timer_op;
	struct __kernel_timespec spare_ts;
	/* publishing */
	struct qw_txn *pubq_head, **pubq_tail;
	struct qw_txn *retry_head;
	unsigned pub_queued, pub_inflight, pub_retrying;
	int retry_armed;
	struct ev_op retry_op;
	struct __kernel_timespec retry_ts;
	/* checkpoints and the helper thread */
	int ckpt_want, ckpt_backoff;
	struct ev_op ckpt_op;
	struct __kernel_timespec ckpt_ts;
	int efd;
	uint64_t efd_val;
	struct ev_op efd_op;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum qw_job job, job_running;
	int job_rc;
	unsigned ndeleting;
	struct queue_recover_stats scan_st;
	/* shutdown */
	enum qw_drain drain;
	int open_expired, flush_expired;
	struct ev_op open_op, flush_op;
	struct __kernel_timespec open_ts, flush_ts;
	/* counters */
	uint64_t ncommits, ngroups, nfailed;
};

/* qwriter_setup.c */
/* Everything before the loop runs: recovery, sockets, ring, thread. */
void qw_setup(struct qw *qw, const struct conf *conf);
/* The loop's before_sleep hook: start groups, checkpoints, shutdown. */
void qw_before_sleep(struct ev_loop *loop, void *arg);

/* qwriter_client.c */
/* Arm the multishot accept on the listening socket. */
void qw_accept_start(struct qw *qw);
/* Queue a reply record (type, id, one attribute or none). */
void qw_client_reply(struct qw_client *c, uint16_t type, uint64_t id,
    uint16_t tag, const char *val);
/* Start sending what is queued for c (records appended to c->out). */
void qw_client_flush(struct qw_client *c);
/* Drop a client (protocol error, EOF, shutdown); reason is logged if set. */
void qw_client_close(struct qw_client *c, const char *reason);
/* Free a client whose ops and answered transactions are all done. */
void qw_client_release(struct qw_client *c);
/* Close every client (shutdown). */
void qw_clients_close_all(struct qw *qw);
/* Open transactions across all clients. */
unsigned qw_clients_open_txns(const struct qw *qw);

/* qwriter_txn.c */
/* A new transaction from a BEGIN payload; NULL and *why on a protocol
 * violation. */
struct qw_txn *qw_txn_begin(struct qw_client *c, uint64_t id,
    const char *payload, size_t len, const char **why);
/* Content bytes of a DATA record. */
void qw_txn_data(struct qw_txn *t, const char *p, size_t n);
/* COMMIT: answer an error now, or build the image and queue it. */
void qw_txn_commit(struct qw_txn *t);
/* Answer the client (if still there) and account for the answer. */
void qw_txn_answer(struct qw_txn *t, uint16_t type, const char *text);
/* Free a transaction. */
void qw_txn_free(struct qw_txn *t);

/* qwriter_alias.c */
/* Load aliases_file (an error is logged; local recipients then defer). */
void qw_alias_init(struct qw *qw);
void qw_alias_free(struct qw *qw);
/* Replace t's recipients by their expansion, deduplicated; 0 or -errno
 * (-ELOOP, -E2BIG, -EAGAIN: aliases unavailable), logged. */
int qw_alias_expand(struct qw_txn *t);
/* The TEMPFAIL text for an error of qw_alias_expand. */
const char *qw_alias_error(int rc);
/* Log t's alias lines with its queue ID (once queued). */
void qw_alias_log(const struct qw_txn *t);

/* qwriter_commit.c */
/* Start a group commit if none is running and commits are pending. */
void qw_commit_kick(struct qw *qw);
/* Open the first segments (start-up, blocking). */
void qw_segments_init(struct qw *qw);
/* Switch to the spare segment; 0, or -EAGAIN if it is not ready. */
int qw_segment_rotate(struct qw *qw);

/* qwriter_pool.c */
/* Open spool/pool/ (start-up). */
void qw_pool_init(struct qw *qw);
/* A file name in pool/ to overwrite for the next queue file into name, 1;
 * 0 when the pool is empty (create in tmp/ instead). */
int qw_pool_take(struct qw *qw, char name[QID_LEN + 1]);
/* The file taken with qw_pool_take left pool/ (or its publish failed). */
void qw_pool_release(struct qw *qw, const char name[QID_LEN + 1]);
/* qwriter_publish.c */
/* Write the durable transaction's queue file into incoming/. */
void qw_publish(struct qw_txn *t);
/* Publishes queued, in flight or waiting for a retry. */
unsigned qw_publish_busy(const struct qw *qw);

/* qwriter_notify.c */
/* SUBSCRIBE from c (already checked to be the writer's own uid). */
void qw_notify_subscribe(struct qw_client *c);
/* The subscriber c is going away. */
void qw_notify_gone(struct qw_client *c);
/* QID was renamed into incoming/: tell the subscriber. */
void qw_notify_new(struct qw *qw, const char *qid);
/* A checkpoint finished: send the new watermark. */
void qw_notify_ckpt(struct qw *qw);
/* The highest queue ID whose journal record is no longer needed. */
uint64_t qw_watermark(const struct qw *qw);

/* qwriter_ckpt.c */
/* Start the helper thread and the checkpoint timer. */
void qw_ckpt_init(struct qw *qw);
/* Rotate and checkpoint when due and possible. */
void qw_ckpt_poll(struct qw *qw);
/* Shutdown: checkpoint every segment; 1 when the final one was started. */
int qw_ckpt_final(struct qw *qw);
/* Run a blocking job in the helper thread; -EBUSY if one is running. */
int qw_job_start(struct qw *qw, enum qw_job job);
#endif
