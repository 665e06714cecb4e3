/* qmgr: the queue manager's state, shared by its files (queue/qmgr_*.c;
 * the contract is docs/delivery-protocol.md).  One process, one io_uring
 * ring.  A message travels: NEW notice or scan -> loaded into the active
 * set (bounded by qmgr_active_limit) -> recipients routed to next hops and
 * grouped into jobs -> jobs queued per destination -> dispatched round
 * robin to agents -> results -> attempt settled: DSN queued for bounces,
 * status fields written (no sync: qmgr_status.c), then the file is unlinked (after
 * the writer's watermark), moved to deferred/ with its next attempt as
 * mtime, or moved to hold/.  Nothing blocks the loop but bounded batches of
 * cheap metadata calls and queue file reads. */
#ifndef QUEUE_QMGR_H
#define QUEUE_QMGR_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/qid.h"
#include "lib/transport.h"

#define QM_RING_ENTRIES 1024
#define QM_LOAD_BATCH 256		/* queue files loaded per loop turn */
#define QM_SCAN_BATCH 2048		/* directory entries per loop turn */
#define QM_BACKLOG_MAX 100000		/* NEW notices waiting for room */
#define QM_HIST_MAX 100000		/* deferred messages remembered */
#define QM_AGENTS_MAX 256		/* agent connections */
#define QM_AGENT_SLOTS_MAX 100000
#define QM_AGENT_REC_MAX 4096		/* payload of one agent record */
#define QM_AGENT_IN (64 * 1024)
#define QM_CTL_MAX 16			/* control connections */
/* Files kept in pool/ for reuse.  Finished files reach the pool in bursts,
 * one checkpoint's worth at a time (qmgr_pool.c): this holds several. */
#define QM_POOL_MAX 16384
#define QM_POOL_FILE_MAX (64 * 1024)	/* larger ones are unlinked */
#define QM_STATUS_MERGE_MIN 3		/* fields of a file merged in one write */
#define QM_STATUS_SPAN_MAX (64 * 1024)	/* bytes of such a write */
#define QM_CTL_REC_MAX 4096
#define QM_TEXT_MAX 1000		/* TEXT of an agent result */
#define QM_RELAY_MAX 300
#define QM_DSN_CODE_MAX 11		/* "5.123.123" */
#define QM_NEXTHOP_MAX 300
#define QM_JOB_RCPT_MAX 10000		/* a JOB record fits IPC_PAYLOAD_MAX */
#define QM_DEAD_FAILS 3			/* connection failures: dead */
#define QM_NOAGENT_GRACE 30		/* s queued jobs wait for an agent */
#define QM_HELLO_SECS 10		/* s an agent has to say HELLO */
#define QM_JOB_SECS 3600		/* s an agent may hold a job */
#define QM_TICK_MS 1000
#define QM_WRITER_RETRY_MS 1000
#define QM_DRAIN_MS 5000		/* SIGTERM: wait for jobs and writes */
#define QM_DEST_IDLE 300		/* s an idle destination is kept */
#define QM_DSN_RETURN_MAX (64 * 1024)	/* original headers in a DSN */
#define QM_LASTERR_MAX 200

#define QM_TEXT_LOCAL "4.3.0 local delivery not available yet"
#define QM_TEXT_AGENT "4.3.0 delivery agent failed"
#define QM_TEXT_NOAGENT "4.3.0 no delivery agent available"
#define QM_TEXT_OPEN "4.3.0 cannot open the queue file"
#define QM_TEXT_DSNFAIL "4.3.0 cannot queue the delivery status notification"

/* Spool directories a message can live in (qm->dirfd index). */
enum qm_dir { QM_INCOMING, QM_DEFERRED, QM_HOLD, QM_CORRUPT, QM_NDIRS };

enum qm_kind { QM_KIND_REMOTE, QM_KIND_LOCAL, QM_NKINDS };

/* Per recipient, in memory, during one attempt. */
enum qm_rstate {
	QM_R_DONE,	/* D or B on disk: nothing to do */
	QM_R_IDLE,	/* pending, not in a job (yet) */
	QM_R_QUEUED,	/* in a job waiting for an agent */
	QM_R_INFLIGHT,	/* in a job an agent holds */
	QM_R_SENT,	/* sent: D to be written */
	QM_R_DEFER,	/* deferred this attempt: stays P */
	QM_R_BOUNCE,	/* bounced or expired: DSN, then B */
	QM_R_DELETED,	/* deleted by the operator: D to be written */
};

struct qm_rcpt {
	char *addr;
	size_t status_off;
	unsigned char state;	/* enum qm_rstate */
	unsigned char expired;
	unsigned char dsn_ok;	/* the DSN for this bounce is queued */
	char dsn[QM_DSN_CODE_MAX + 1];
	char *text;		/* last result's text (owned), or NULL */
	char *relay;		/* last result's relay (owned), or NULL */
};

/* Message flags. */
#define QM_M_HOLD 0x01		/* move to hold/ when the attempt ends */
#define QM_M_DELETE 0x02	/* operator delete */
#define QM_M_DSN_BUSY 0x04	/* a DSN submission is waiting for QUEUED */
#define QM_M_WRITING 0x08	/* status writes in flight */
#define QM_M_ACTIVE 0x10	/* counted in the active set */
#define QM_M_FRESH 0x20		/* loaded from incoming/ */
#define QM_M_WARNED 0x40	/* the delay warning went out */
#define QM_M_SETTLE 0x80	/* on the settle queue */

struct qm_msg {
	uint64_t qid;
	char id[QID_LEN + 1];
	char rel[QID_LEN + 4];	/* "XX/QID" */
	enum qm_dir dir;
	int fd;			/* O_RDWR */
	uint64_t arrival_us;
	size_t size;
	char *sender;		/* "" for <> */
	char *body;
	int smtputf8;
	struct qm_rcpt *rcpts;
	size_t nrcpt;
	unsigned attempts;	/* this one included */
	time_t next_attempt;	/* when deferred (settle) */
	struct qm_job *jobs;	/* queued or in flight (mnext) */
	unsigned njobs;		/* jobs queued or in flight */
	unsigned nwrites;	/* status writes outstanding */
	int write_failed;
	unsigned flags;
	struct qm_msg *hnext;	/* active hash */
	struct qm_msg *prev, *next;	/* all loaded messages */
};

/* ---- scheduling (qmgr_sched.c: pure, unit-tested) --------------------- */

struct qm_job;
struct qm_agent;

struct qm_dest {
	char *key;		/* NEXTHOP */
	enum qm_kind kind;
	struct qm_job *qhead, *qtail;	/* queued jobs, FIFO */
	unsigned nqueued, inflight;
	unsigned limit;		/* slow start: current concurrency */
	unsigned fails;		/* connection failures in a row */
	time_t dead_until;	/* 0: alive */
	time_t idle_since;
	char *last_err;		/* text of the last failure */
	int in_ring;
	struct qm_dest *rnext, *rprev;	/* ring of destinations with work */
	struct qm_dest *hnext;
};

struct qm_job {
	uint64_t id;
	struct qm_msg *msg;
	struct qm_dest *dest;
	struct qm_agent *agent;	/* NULL while queued */
	uint32_t *idx;		/* recipient indexes */
	unsigned char *answered;
	unsigned n, nanswered;
	unsigned nconnfail;	/* deferred with RELAY none */
	unsigned nok;		/* sent or bounced: the peer answered */
	time_t queued_at, given_at;
	struct qm_job *next;	/* dest queue */
	struct qm_job *mnext;	/* the message's jobs */
	struct qm_job *anext, *aprev;	/* agent's in-flight list */
	struct qm_job *hnext;	/* job id hash */
};

/* Scheduler tunables (from the config) and the destination table. */
struct qm_sched {
	unsigned conc_max;	/* destination_concurrency */
	unsigned dead_secs;	/* min(retry_min, 60) */
	struct qm_dest **tab;
	size_t tabsize, ndest;
	struct qm_dest *ring;	/* next destination to serve */
};

/* What a finished job tells the destination (slow start). */
enum qm_outcome { QM_OUT_OK, QM_OUT_CONNFAIL, QM_OUT_OTHER };

/* Set up an empty table. */
void qm_sched_init(struct qm_sched *s, unsigned conc_max, unsigned dead_secs);
/* Free every destination (their jobs must be gone). */
void qm_sched_free(struct qm_sched *s);
/* The destination for key, created (alive, slow start) if missing. */
struct qm_dest *qm_dest_get(struct qm_sched *s, const char *key,
    enum qm_kind kind);
/* Queue a job at the tail of its destination. */
void qm_dest_push(struct qm_sched *s, struct qm_dest *d, struct qm_job *j);
/* Unlink a queued job (hold, delete, dead destination). */
void qm_dest_remove(struct qm_sched *s, struct qm_dest *d, struct qm_job *j);
/* A job of d finished with outcome at now: slow start and dead marking.
 * Returns 1 if d just became dead. */
int qm_dest_done(struct qm_sched *s, struct qm_dest *d, enum qm_outcome o,
    time_t now);
/* 1 if d may take one more job now. */
int qm_dest_ready(const struct qm_sched *s, const struct qm_dest *d,
    time_t now);
/* Pick callback: an agent for kind with a free slot, or NULL. */
typedef struct qm_agent *(*qm_pick_fn)(void *ctx, enum qm_kind kind);
/* Hand-over callback: job j goes to agent a. */
typedef void (*qm_give_fn)(void *ctx, struct qm_job *j, struct qm_agent *a);
/* Round robin: one job per ready destination per turn until nothing more
 * can go (or max jobs went); returns how many were given. */
unsigned qm_sched_dispatch(struct qm_sched *s, time_t now, qm_pick_fn pick,
    qm_give_fn give, void *ctx, unsigned max);
/* Free destinations idle (no jobs, alive) since before now - secs. */
void qm_sched_gc(struct qm_sched *s, time_t now, unsigned secs);

/* ---- retry arithmetic (qmgr_backoff.c: pure) -------------------------- */

/* Delay before the next attempt after attempts tries:
 * min(retry_max, retry_min * 2^(attempts-1)). */
unsigned qm_backoff(unsigned attempts, unsigned rmin, unsigned rmax);
/* Attempts a message of age seconds has probably had (start-up). */
unsigned qm_attempts_from_age(uint64_t age, unsigned rmin, unsigned rmax);

/* ---- routing (qmgr_route.c: pure) ------------------------------------- */

/* The NEXTHOP of a recipient address "local@domain": transport table,
 * then local_domains ("local"), then relayhost, then "mx:domain"
 * (lower-cased); domain literals go to "addr:IP:25".  0 or -EINVAL. */
int qm_route(const struct conf *c, const struct transport *t,
    const char *addr, char *out, size_t n);
/* The agent kind that serves a next hop. */
enum qm_kind qm_route_kind(const char *nexthop);
/* Group n recipients by next hop (hops[i]) into jobs of at most limit:
 * writes the recipient indexes job by job into order[] and the size of
 * each job into sizes[]; returns the number of jobs.  Recipients keep
 * their order within a job; jobs come in order of first appearance. */
size_t qm_group(const char *const *hops, size_t n, unsigned limit,
    uint32_t *order, unsigned *sizes);

/* ---- agent records (qmgr_arec.c: pure, hostile-input tested) ---------- */

enum qm_class { QM_CLS_SENT, QM_CLS_DEFERRED, QM_CLS_BOUNCED };

struct qm_arec {
	uint16_t type;
	uint64_t id;
	enum qm_kind kind;	/* HELLO */
	unsigned slots;
	uint32_t idx;		/* RCPT */
	enum qm_class cls;
	char dsn[QM_DSN_CODE_MAX + 1];
	char relay[QM_RELAY_MAX + 1];	/* "none" if absent */
	char text[QM_TEXT_MAX + 1];
};

/* Validate one record from an agent; NULL, or why it is refused. */
const char *qm_arec_parse(const struct ipc_msg *m, struct qm_arec *r);

/* ---- status batches (qmgr_status.c) ----------------------------------- */

struct qm_swrite {
	int fd;
	size_t off;
	char field[22];		/* QUEUE_STATUS_LEN + NUL */
	struct qm_msg *msg;
	size_t seq;		/* order of queueing (the last one wins) */
	int dup;		/* superseded, or merged into its group's span */
	int last;		/* last write of its fd: ends the file's group */
	int res;		/* 0 or -errno after completion */
	char *span;		/* the group's fields in one write, or NULL */
	size_t span_len;
	struct qm *qm;
	struct ev_op op;
};

/* Order writes by (fd, offset, seq), mark earlier writes of the same
 * field dup (the last one wins) and the last write of each fd last;
 * returns the number of files.  Pure. */
size_t qm_status_plan(struct qm_swrite *w, size_t n);
/* Patch the fields of one file's group w[0..n-1] (planned) into span, the
 * file's bytes from w[0].off on (span_len of them), and mark every write
 * but the first dup.  Pure. */
void qm_status_merge(struct qm_swrite *w, size_t n, char *span,
    size_t span_len);

/* ---- agents and control connections ----------------------------------- */

struct qm_orec {		/* one record queued to an agent */
	struct qm_orec *next;
	int fd;			/* passed with the first byte, then closed */
	size_t len, off;
	char data[];
};

struct qm;

struct qm_agent {
	struct qm *qm;
	int fd;
	uid_t uid;
	pid_t pid;
	int hello;
	time_t since;		/* connected at */
	enum qm_kind kind;
	unsigned slots, inflight;
	struct qm_job *jobs;	/* in flight (anext/aprev) */
	struct qm_orec *ohead, **otail;
	int closing, recv_busy, poll_busy;
	struct ev_op recv_op, poll_op;
	char *in;
	size_t inlen;
	struct qm_agent *prev, *next;
};

struct qm_ctl {
	struct qm *qm;
	int fd;
	int closing, recv_busy, send_busy, waiting;
	uint64_t req_id;	/* the request being answered */
	struct ev_op recv_op, send_op;
	char in[QM_CTL_REC_MAX + IPC_HDR_LEN];
	size_t inlen;
	struct buf out;
	size_t outoff;
	struct qm_ctl *prev, *next;
};

/* ---- spool scans (qmgr_scan.c) ---------------------------------------- */

enum qm_scan_mode {
	QM_SCAN_LOAD,		/* load every message (incoming/) */
	QM_SCAN_DUE,		/* load messages whose mtime has passed */
	QM_SCAN_FORCE,		/* load every message (flush) */
	QM_SCAN_COUNT,		/* count only (hold/) */
	QM_SCAN_DELETE,		/* operator: delete all */
};

struct qm_scan {
	int running;
	enum qm_dir dir;
	enum qm_scan_mode mode;
	unsigned sub;		/* next hashed subdirectory */
	void *d;		/* DIR * of the current one */
	char cur[3];		/* its name */
	int have_pend;		/* an entry waits for room */
	uint64_t pend_qid;
	char pend_name[QID_LEN + 1];
	unsigned long seen;
	time_t now;
	int again;		/* asked for again while running */
	enum qm_scan_mode again_mode;
};

/* ---- the writer connection (qmgr_writer.c) ---------------------------- */

enum qm_wstate { QM_W_DOWN, QM_W_CONNECTING, QM_W_SUBSCRIBED, QM_W_READY };

struct qm_dsnsub {		/* a DSN waiting for the writer's answer */
	uint64_t id;
	uint64_t qid;		/* the original message */
	struct qm_msg *msg;	/* NULL for a delay warning */
	int delayed;
	struct qm_dsnsub *next;
};

/* ---- the process ------------------------------------------------------ */

struct qm_hist {			/* a deferred message remembered */
	uint64_t qid;			/* 0: free */
	unsigned attempts;
	int warned;
	char *lasterr;
	uint32_t hnext;			/* index + 1 */
};

struct qm_fin {				/* finished, waiting for the watermark */
	uint64_t qid;
	enum qm_dir dir;
	int reuse;			/* small enough for pool/ */
};

struct qm_stats {
	uint64_t received, delivered, deferred, bounced, expired, deleted;
};

struct qm {
	struct ev_loop loop;
	const struct conf *conf;
	char spool[4096];
	int dirfd[QM_NDIRS];
	struct ev_signal sig;
	int stopping, drain_expired;
	struct ev_op drain_op;
	struct __kernel_timespec drain_ts;
	/* time */
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
	time_t next_deferred_scan;
	/* transport_file */
	struct transport tp;
	int tp_fd;			/* handed over by the master, or -1 */
	struct timespec tp_mtime;
	off_t tp_size;
	ino_t tp_ino;
	/* active set */
	struct buf rbuf;		/* queue file being decoded */
	struct qm_msg **mtab;
	size_t mtabsize;
	struct qm_msg *msgs;		/* every loaded message */
	unsigned nactive, limit;
	uint64_t *backlog;		/* ring of QIDs from NEW notices */
	size_t bl_head, bl_len;
	int rescan_incoming;
	int rescan_later;		/* a load failed: rescan at the tick */
	struct qm_scan scan_in, scan_def, scan_hold, scan_del;
	unsigned queue_deferred, queue_hold;	/* from the last scans */
	struct ev_op kick_op;
	int kick_armed;
	/* scheduling */
	struct qm_sched sched;
	struct qm_job **jtab;
	size_t jtabsize;
	uint64_t next_job_id;
	time_t noagent_since[QM_NKINDS];
	/* status writes */
	struct qm_swrite *sw;
	size_t nsw, swcap;
	struct qm_swrite *swb;		/* the batch in flight */
	size_t nswb, swbcap;
	unsigned sw_outstanding;
	struct qm_msg **settle_q;	/* attempts to settle this turn */
	size_t nsettle, settlecap;
	/* finished files */
	struct qm_fin *fin;
	size_t nfin, fincap;
	uint64_t watermark;
	int pool_fd;			/* spool/pool/ */
	size_t pool_room;		/* files pool/ may still take */
	time_t pool_counted;		/* when pool/ was last counted */
	uint64_t fin_swept;		/* watermark of the last full sweep */
	int fin_due;			/* an entry the watermark passed */
	/* deferred history */
	struct qm_hist *hist;
	size_t nhist, histcap, hist_next;
	uint32_t *hbuckets;
	/* the writer */
	enum qm_wstate wstate;
	int wfd;
	struct sockaddr_un wsun;
	socklen_t wsunlen;
	struct ev_op wconn_op, wrecv_op, wsend_op, wtimer_op;
	int wconn_busy, wrecv_busy, wsend_busy, wtimer_busy, wwarned;
	struct __kernel_timespec wts;
	struct buf wout, wwire, win;
	size_t wwire_off;
	struct qm_dsnsub *dsnsubs;
	uint64_t next_dsn_id;
	/* agents */
	int agent_fd, own_agent;
	struct ev_op agent_accept_op;
	struct qm_agent *agents;
	unsigned nagents, nagents_kind[QM_NKINDS];
	unsigned nclosing;		/* closed agents and control
					 * connections with ops in flight */
	/* control */
	int ctl_fd, own_ctl;
	struct ev_op ctl_accept_op;
	struct qm_ctl *ctls;
	unsigned nctls;
	struct qm_ctl *delete_waiter;	/* "delete all" in progress */
	unsigned long deleted_count;
	char agent_path[108], ctl_path[108];
	uid_t uid_remote, uid_local;
	struct qm_stats st;
};

/* qmgr_setup.c */
/* Everything before the loop runs: directories, sockets, ring, signals. */
void qm_setup(struct qm *qm, const struct conf *conf);
/* The loop's before_sleep hook. */
void qm_before_sleep(struct ev_loop *loop, void *arg);
/* Make the loop turn again soon (more batched work is waiting). */
void qm_kick(struct qm *qm);
/* Seconds since the epoch. */
time_t qm_now(void);

/* qmgr_msg.c */
/* Load spool/dir/XX/QID into the active set (force: beyond the limit).
 * 0, -EEXIST if already loaded, -ENOENT, or -errno. */
int qm_msg_load(struct qm *qm, enum qm_dir dir, uint64_t qid, int force,
    struct qm_msg **out);
/* Take m out of the active set (before it is freed). */
void qm_msg_unlink(struct qm *qm, struct qm_msg *m);
/* The loaded message qid, or NULL. */
struct qm_msg *qm_msg_find(struct qm *qm, uint64_t qid);
/* Route the pending recipients and queue the jobs (attempt start). */
void qm_msg_start(struct qm *qm, struct qm_msg *m);
/* A job of m is finished (all its recipients have a result). */
void qm_msg_job_gone(struct qm *qm, struct qm_msg *m);
/* Settle m's attempt now if nothing is outstanding. */
void qm_msg_settle(struct qm *qm, struct qm_msg *m);
/* Settle the attempts queued this loop turn. */
void qm_msg_settle_run(struct qm *qm);
/* Status writes of m are done. */
void qm_msg_written(struct qm *qm, struct qm_msg *m);
/* The DSN of m was queued (ok) or not. */
void qm_msg_dsn_result(struct qm *qm, struct qm_msg *m, int ok);
/* Log a status= line for recipient r (relay none). */
void qm_msg_log_rcpt(const struct qm_msg *m, const struct qm_rcpt *r,
    const char *dsn, const char *status, const char *text);
/* Record a deferral of r (state, text) and log it. */
void qm_msg_defer_rcpt(struct qm *qm, struct qm_msg *m, struct qm_rcpt *r,
    const char *dsn_text);
/* Unlink finished files whose ID the watermark has passed. */
void qm_fin_sweep(struct qm *qm);
/* qmgr_pool.c */
/* Open spool/pool/ (start-up). */
void qm_pool_open(struct qm *qm);
/* Dispose of a finished file: moved into pool/ for the writer to reuse
 * while the pool has room, else unlinked.  0 or -errno. */
int qm_pool_dispose(struct qm *qm, const struct qm_fin *f, const char *rel,
    const char *id);
/* Room in the active set for one more message. */
int qm_room(const struct qm *qm);

/* qmgr_hist.c */
/* The history entry of qid, or NULL. */
struct qm_hist *qm_hist_get(struct qm *qm, uint64_t qid);
/* The entry of qid, created (evicting the oldest) if missing. */
struct qm_hist *qm_hist_put(struct qm *qm, uint64_t qid);
/* Forget qid (its message is finished). */
void qm_hist_del(struct qm *qm, uint64_t qid);

/* qmgr_jobs.c */
/* Create a job of m for dest with n recipient indexes. */
struct qm_job *qm_job_new(struct qm *qm, struct qm_msg *m,
    struct qm_dest *d, const uint32_t *idx, unsigned n);
/* The in-flight job id, or NULL. */
struct qm_job *qm_job_find(struct qm *qm, uint64_t id);
/* A result for one recipient of j. */
void qm_job_result(struct qm *qm, struct qm_job *j, const struct qm_arec *r);
/* j is over: unanswered recipients are deferred with text; slow start. */
void qm_job_finish(struct qm *qm, struct qm_job *j, const char *text);
/* Defer every queued job of d (dead destination, no agent). */
void qm_jobs_defer_dest(struct qm *qm, struct qm_dest *d, const char *text);
/* Drop the queued (not dispatched) jobs of m (hold, delete). */
void qm_jobs_drop_msg(struct qm *qm, struct qm_msg *m);
/* Hand out queued jobs to agents with free slots. */
void qm_jobs_dispatch(struct qm *qm);
/* Once a second: dead destinations, agents missing, idle ones. */
void qm_jobs_tick(struct qm *qm, time_t now);

/* qmgr_agent.c */
/* Arm the accept on the agents' socket. */
void qm_agent_start(struct qm *qm);
/* Queue job j's record (and its fd) to agent a. */
int qm_agent_send_job(struct qm *qm, struct qm_agent *a, struct qm_job *j);
/* Send what is queued to every agent (before_sleep). */
void qm_agent_flush(struct qm *qm);
/* The least loaded agent of kind with a free slot, or NULL. */
struct qm_agent *qm_agent_pick(struct qm *qm, enum qm_kind kind);
/* Drop every agent (shutdown). */
void qm_agent_close_all(struct qm *qm);
/* Once a second: agents silent too long (no HELLO, a job never done). */
void qm_agent_tick(struct qm *qm, time_t now);

/* qmgr_status.c */
/* Queue the 21-byte status field of recipient i of m. */
void qm_status_queue(struct qm *qm, struct qm_msg *m, size_t i, char status,
    uint64_t next);
/* Start a batch if none runs and writes are queued (before_sleep). */
void qm_status_kick(struct qm *qm);

/* qmgr_scan.c */
/* Start (or restart after) a scan of dir in mode. */
void qm_scan_start(struct qm *qm, struct qm_scan *s, enum qm_dir dir,
    enum qm_scan_mode mode);
/* Queue a QID from a NEW notice (or release) for loading. */
void qm_backlog_push(struct qm *qm, uint64_t qid);
/* Load from the backlog and run the scans, bounded (before_sleep). */
void qm_scan_step(struct qm *qm);
/* Scans are running or the backlog is not empty. */
int qm_scan_busy(const struct qm *qm);

/* qmgr_writer.c */
/* Connect to run/qwriter.sock (and keep reconnecting). */
void qm_writer_start(struct qm *qm);
/* Send the queued records (before_sleep). */
void qm_writer_flush(struct qm *qm);
/* Submit a DSN (content in body) to orig's sender; m hears the result
 * (NULL: nobody waits, a delay warning).  0 or -ENOTCONN. */
int qm_writer_submit(struct qm *qm, struct qm_msg *m,
    const struct qm_msg *orig, const struct buf *body, int delayed);

/* qmgr_bounce.c */
/* Build and submit the DSN for m's bounced recipients; 0, or -errno when
 * it cannot be submitted now. */
int qm_bounce_submit(struct qm *qm, struct qm_msg *m);
/* Send the delay warning for m's deferred recipients if due. */
void qm_bounce_delay_warning(struct qm *qm, struct qm_msg *m);

/* qmgr_ctl.c */
/* Arm the accept on the control socket. */
void qm_ctl_start(struct qm *qm);
/* "delete all" finished with count messages. */
void qm_ctl_delete_done(struct qm *qm, unsigned long count);
/* Close every control connection (shutdown). */
void qm_ctl_close_all(struct qm *qm);
#endif
