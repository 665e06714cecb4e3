/* local: the mta-local process -- one io_uring ring carrying the queue
 * manager link (agent_link.c, shared with mta-remote) and every Maildir
 * delivery in flight.  This header holds the process-wide state the parts
 * share: local_run (set-up, jobs, timers, shutdown), local_dlv (one
 * recipient's delivery on the ring), local_mbox (mailboxes: quota
 * accounting and the batched directory fsync), local_msg (pure helpers). */
#ifndef DELIVER_LOCAL_H
#define DELIVER_LOCAL_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "deliver/agent_link.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/ev.h"
#include "lib/maildir.h"

#define LOCAL_TICK_MS 200
#define LOCAL_STOP_GRACE_MS 2000	/* deliveries in flight may finish */
#define LOCAL_STOP_HARD_MS 4000		/* then exit whatever is left */
#define LOCAL_CHUNK (128 * 1024)	/* bytes per write */
#define LOCAL_PATH_MAX 4096
#define LOCAL_MBOX_MAX 4096		/* idle mailboxes remembered */
#define LOCAL_RELAY "local"		/* relay= of every status line */

struct users;
struct local_dlv;

/* A local agent job: the shared part and which recipient starts next. */
struct local_job {
	struct agent_job a;		/* first: agent_link allocates it */
	size_t next_ri;			/* recipients before it are started */
	struct local_job *qnext;	/* waiting for a delivery slot */
	unsigned queued : 1;
};

/* One mailbox we deliver to (local_mbox.c). */
struct local_mbox {
	struct local *lo;
	char path[LOCAL_PATH_MAX];	/* .../Maildir */
	struct local_mbox *hnext;	/* hash chain */
	unsigned refs;			/* deliveries using it */
	unsigned ready : 1;		/* maildir_create done */
	unsigned scanned : 1;		/* usage is valid for the mtimes */
	/* Quota: bytes in new/ and cur/ as of the mtimes, and in flight. */
	uint64_t usage, reserved;
	struct timespec new_mtime, cur_mtime;
	/* The batched fsync of new/ (one covers every rename before it). */
	struct local_dlv *sync_wait, *sync_batch;
	unsigned sync_busy : 1;
	int sync_stage;			/* 0 open, 1 fsync, 2 close */
	int sync_fd, sync_res;
	struct ev_op sync_op;
	char new_dir[LOCAL_PATH_MAX];
};

struct local {
	const struct conf *conf;
	struct ev_loop loop;
	struct agent_link link;
	char mail_root[LOCAL_PATH_MAX];	/* $state_dir/mail */
	unsigned concurrency;		/* local_concurrency */
	struct users *users;		/* users_file snapshot, NULL: none */
	uint64_t users_retry_at;	/* ms: next load attempt when NULL */
	struct local_job *q_head, *q_tail;	/* jobs with rcpts to start */
	struct local_dlv *dlvs;		/* in flight */
	size_t ndlvs;
	uint64_t seq;			/* Maildir name counter */
	struct local_mbox **mboxes;	/* hash of LOCAL_MBOX_BUCKETS */
	size_t nmboxes;
	struct ev_op tick_op;
	struct __kernel_timespec tick_ts;
	struct ev_signal sig;
	unsigned stopping : 1, stop_jobs_aborted : 1;
	uint64_t stop_at;
};
#endif
