/* agent_link: a delivery agent's link to the queue manager over
 * $state_dir/run/agent.sock (docs/delivery-protocol.md), shared by
 * mta-remote and mta-local: connect (again after AGENT_RECONNECT_MS when
 * absent or broken), HELLO KIND/SLOTS, JOB records with their queue file
 * descriptors (SCM_RIGHTS, received with recvmsg on the ring), the jobs in
 * flight, and RCPT and DONE records back.  When the link breaks every job
 * in flight is dropped: the queue manager counts them deferred.  The
 * owner supplies what differs per kind in struct agent_ops. */
#ifndef DELIVER_AGENT_LINK_H
#define DELIVER_AGENT_LINK_H
#include <stdint.h>
#include <sys/un.h>

#include "deliver/agent_job.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/fds.h"

#ifndef MTA_AGENT_SOCK
#define MTA_AGENT_SOCK "agent.sock"
#endif

struct agent_link;

struct agent_ops {
	const char *kind;		/* HELLO KIND: "remote" or "local" */
	size_t job_size;		/* owner's job struct, agent_job first */
	size_t rcpt_max;		/* RCPT_IDX per job */
	agent_hop_fn *hop;		/* NEXTHOP check */
	/* A valid job to work on (malformed ones the link answers itself). */
	void (*dispatch)(struct agent_link *l, struct agent_job *j);
	/* Stop working on j: it is answered or dropped, then freed. */
	void (*abort)(struct agent_link *l, struct agent_job *j);
};

struct agent_link {
	const struct agent_ops *ops;
	struct ev_loop *loop;
	const char *state_dir;
	unsigned slots;			/* HELLO SLOTS */
	int fd;				/* -1: not connected */
	int connecting, up;
	uint64_t retry_at;		/* ms: next connect attempt */
	uint64_t warned_at;		/* ms: no "lost" warning before */
	unsigned gen;			/* connection number */
	struct sockaddr_un sun;
	socklen_t sunlen;
	struct ev_op conn_op, recv_op, send_op;
	unsigned conn_busy : 1, recv_busy : 1, send_busy : 1, closing : 1,
	    noread : 1;			/* stopping: take no more jobs */
	struct msghdr mh;
	struct iovec iov;
	char *rbuf;			/* recvmsg target */
	size_t rbuf_len;
	union {
		struct cmsghdr align;
		char b[256];
	} cmsg;
	struct buf in;			/* bytes of records not yet whole */
	uint64_t in_base;		/* stream offset of in.data[0] */
	struct agent_fdq {		/* fds received, not yet claimed */
		uint64_t at;		/* stream offset of their record */
		int fd;
	} *fdq;
	size_t nfdq;
	struct buf out, wire;		/* records to send / in flight */
	size_t wire_off;
	struct agent_job *jobs;		/* in flight */
	size_t njobs;
};

/* Set up (not connected yet: the tick connects). */
void agent_link_init(struct agent_link *l, const struct agent_ops *ops,
    struct ev_loop *loop, const char *state_dir, unsigned slots);
/* Connect when due. */
void agent_link_tick(struct agent_link *l, uint64_t now);
/* Send the records queued in l->out (call before sleeping). */
void agent_link_flush(struct agent_link *l);
/* SIGTERM: take no more jobs and make no new connection (results still
 * go out). */
void agent_link_stop_reading(struct agent_link *l);
/* 1 when nothing is waiting to be sent (or the link is down). */
int agent_link_drained(const struct agent_link *l);
/* Decode and act on the records in l->in (exposed for tests). */
int agent_link_input(struct agent_link *l);
/* Every recipient of j has its result (or gets "deferred"): answer the
 * queue manager and free j. */
void agent_link_job_done(struct agent_link *l, struct agent_job *j);
/* Abort every job (ops->abort) and answer what is left deferred with
 * text (stopping, out of patience). */
void agent_link_stop_jobs(struct agent_link *l, const char *text);
/* Abort and free every job without answering (link lost, exit). */
void agent_link_abort_jobs(struct agent_link *l);
/* Close everything at exit. */
void agent_link_exit(struct agent_link *l);
#endif
