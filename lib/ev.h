/* ev: the io_uring event loop, one ring per process.  Every in-flight SQE
 * carries a struct ev_op embedded in its owner (recover the owner with
 * container_of); its callback runs once per CQE.  SQEs with user_data 0
 * (cancels) complete silently.  Owners must not be freed while one of
 * their ops is in flight: cancel, then wait for the final completion. */
#ifndef LIB_EV_H
#define LIB_EV_H
#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

struct ev_op;
struct ev_loop;
typedef void (*ev_fn)(struct ev_op *op, int res, unsigned cqe_flags);
typedef void (*ev_sleep_fn)(struct ev_loop *loop, void *arg);

struct ev_op {
	ev_fn fn;
};

struct ev_loop {
	struct io_uring ring;
	int stopping;
	ev_sleep_fn before_sleep;	/* redis "beforesleep": flush batches */
	void *before_sleep_arg;
};

/* Provided-buffer ring for multishot recv: count buffers of size bytes. */
struct ev_bufring {
	struct io_uring_buf_ring *br;
	char *mem;
	unsigned count, size, bgid, pending;
};

/* A worker's stop signals (SIGTERM, SIGINT) read from a signalfd on the
 * ring: each read completes op with res == sizeof(si) and si filled in. */
struct ev_signal {
	struct ev_op op;
	int fd;
	struct signalfd_siginfo si;
};

/* What a restricted ring may run: its SQE opcodes (IORING_OP_*) and SQE
 * flags (IOSQE_*).  Of the register calls only provided-buffer rings
 * remain (ev_bufring_setup). */
struct ev_allow {
	const unsigned char *ops;
	size_t nops;
	unsigned char sqe_flags;
};

/* Set up the ring with room for entries SQEs.  0 or -errno. */
int ev_init(struct ev_loop *loop, unsigned entries);
/* ev_init, restricted to allow (IORING_REGISTER_RESTRICTIONS on a ring
 * created disabled, then enabled): seccomp does not see the operations
 * the kernel runs for a ring, this does.  Any other opcode completes
 * with -EACCES.  0 or -errno. */
int ev_init_restricted(struct ev_loop *loop, unsigned entries,
    const struct ev_allow *allow);
/* Tear the ring down. */
void ev_exit(struct ev_loop *loop);
/* Run until ev_stop; returns 0, or -errno if the ring failed. */
int ev_run(struct ev_loop *loop);
/* Ask ev_run to return after the current batch of completions. */
void ev_stop(struct ev_loop *loop);
/* A free SQE, submitting pending ones first if the SQ is full. */
struct io_uring_sqe *ev_sqe(struct ev_loop *loop, struct ev_op *op);

/* Multishot accept on a listening socket (re-arm when F_MORE is clear). */
void ev_accept(struct ev_loop *loop, struct ev_op *op, int fd);
/* One accept.  For a socket several processes accept on: the kernel
 * wakes one waiter, the first in line, and a multishot accept keeps its
 * place there, so one process would get every connection; re-arming
 * after each puts it at the back. */
void ev_accept_one(struct ev_loop *loop, struct ev_op *op, int fd);
/* Multishot recv into buffers of ring br (re-arm when F_MORE is clear). */
void ev_recv_multishot(struct ev_loop *loop, struct ev_op *op, int fd,
    struct ev_bufring *br);
/* One recv into buf. */
void ev_recv(struct ev_loop *loop, struct ev_op *op, int fd, void *buf,
    size_t len);
/* One send (MSG_NOSIGNAL) from buf; may complete short. */
void ev_send(struct ev_loop *loop, struct ev_op *op, int fd, const void *buf,
    size_t len);
/* recvmsg (MSG_CMSG_CLOEXEC: passed fds arrive close-on-exec) and sendmsg
 * (MSG_NOSIGNAL); msg and everything it points to must live until the
 * completion. */
void ev_recvmsg(struct ev_loop *loop, struct ev_op *op, int fd,
    struct msghdr *msg);
void ev_sendmsg(struct ev_loop *loop, struct ev_op *op, int fd,
    const struct msghdr *msg);
/* connect(2) on a non-blocking socket; sa must live until completion. */
void ev_connect(struct ev_loop *loop, struct ev_op *op, int fd,
    const struct sockaddr *sa, socklen_t salen);
/* read/write at offset (-1: current position). */
void ev_read(struct ev_loop *loop, struct ev_op *op, int fd, void *buf,
    size_t len, long long off);
void ev_write(struct ev_loop *loop, struct ev_op *op, int fd, const void *buf,
    size_t len, long long off);
/* fdatasync (datasync=1) or fsync. */
void ev_fsync(struct ev_loop *loop, struct ev_op *op, int fd, int datasync);
/* openat(2): res is the new fd or -errno; path must live until submit. */
void ev_openat(struct ev_loop *loop, struct ev_op *op, int dirfd,
    const char *path, int flags, unsigned mode);
/* close(2) of fd (a file: the ring's close does not cancel its I/O). */
void ev_close(struct ev_loop *loop, struct ev_op *op, int fd);
/* renameat2(2) with flags (e.g. RENAME_NOREPLACE); paths live until submit. */
void ev_renameat(struct ev_loop *loop, struct ev_op *op, int olddirfd,
    const char *oldpath, int newdirfd, const char *newpath, unsigned flags);
/* 1 if the kernel runs ftruncate on the ring (IORING_OP_FTRUNCATE, Linux
 * 6.9 and later), else 0. */
int ev_has_ftruncate(struct ev_loop *loop);
/* Make sqe an ftruncate(2) of fd to len bytes (liburing 2.3 has no
 * io_uring_prep_ftruncate); only where ev_has_ftruncate. */
void ev_prep_ftruncate(struct io_uring_sqe *sqe, int fd, uint64_t len);
/* unlinkat(2); path must live until submit. */
void ev_unlinkat(struct ev_loop *loop, struct ev_op *op, int dirfd,
    const char *path, int flags);
/* One-shot relative timer of ms milliseconds; ts must live until it fires. */
void ev_timeout(struct ev_loop *loop, struct ev_op *op,
    struct __kernel_timespec *ts, unsigned ms);
/* poll(2) mask on fd, one shot. */
void ev_poll(struct ev_loop *loop, struct ev_op *op, int fd, unsigned mask);
/* Cancel every request on fd (their callbacks see -ECANCELED). */
void ev_cancel_fd(struct ev_loop *loop, int fd);
/* Cancel the requests whose op is target. */
void ev_cancel_op(struct ev_loop *loop, struct ev_op *target);

/* Ignore SIGPIPE and SIGHUP (the master reloads), block SIGTERM and SIGINT
 * and open s->fd for them; fn runs per read.  Call before starting threads
 * (they inherit the mask).  0 or -errno. */
int ev_signal_open(struct ev_signal *s, ev_fn fn);
/* Read the next signal into s->si (again after every completion). */
void ev_signal_read(struct ev_loop *loop, struct ev_signal *s);

/* Register a provided-buffer ring (liburing 2.3 lacks the 2.4 helper). */
int ev_bufring_setup(struct ev_loop *loop, struct ev_bufring *br,
    unsigned bgid, unsigned count, unsigned size);
/* The buffer a recv CQE used (IORING_CQE_F_BUFFER set), or NULL. */
char *ev_bufring_data(struct ev_bufring *br, unsigned cqe_flags);
/* Give a buffer back; returns are published in one batch per loop turn. */
void ev_bufring_put(struct ev_bufring *br, unsigned cqe_flags);
/* Publish returned buffers (ev_run does this before sleeping). */
void ev_bufring_flush(struct ev_bufring *br);
#endif
