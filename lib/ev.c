/* ev: io_uring event loop; see ev.h.  Completions are walked in batches and
 * the CQ advanced once per batch, as in liburing's examples/proxy.c. */
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EV_MAX_BUFRINGS 4

static struct ev_bufring *ev_rings[EV_MAX_BUFRINGS];
static unsigned ev_nrings;

static int ev_init_flags(struct ev_loop *loop, unsigned entries,
    unsigned extra)
{
	struct io_uring_params p;
	int rc;

	memset(loop, 0, sizeof(*loop));
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
	    IORING_SETUP_SINGLE_ISSUER | extra;
	p.flags |= IORING_SETUP_CQSIZE;
	p.cq_entries = entries * 4;
	rc = io_uring_queue_init_params(entries, &loop->ring, &p);
	if (rc == -EINVAL) {
		/* Older kernels: plain ring. */
		memset(&p, 0, sizeof(p));
		p.flags = extra;
		rc = io_uring_queue_init_params(entries, &loop->ring, &p);
	}
	return rc;
}

int ev_init(struct ev_loop *loop, unsigned entries)
{
	return ev_init_flags(loop, entries, 0);
}

/* Debian's liburing 2.3 declares io_uring_register_restrictions and
 * io_uring_enable_rings but does not export them: the raw syscall. */
static int ev_register(struct ev_loop *loop, unsigned op, void *arg,
    unsigned n)
{
	if (syscall(__NR_io_uring_register, loop->ring.ring_fd, op, arg, n) < 0)
		return -errno;
	return 0;
}

int ev_init_restricted(struct ev_loop *loop, unsigned entries,
    const struct ev_allow *allow)
{
	struct io_uring_restriction res[64];
	size_t n = 0;
	int rc;

	if (allow->nops + 2 > ARRAY_LEN(res))
		return -EINVAL;
	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < allow->nops; i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = allow->ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = allow->sqe_flags;
	res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
	res[n++].register_op = IORING_REGISTER_PBUF_RING;
	if ((rc = ev_init_flags(loop, entries, IORING_SETUP_R_DISABLED)) < 0)
		return rc;
	if ((rc = ev_register(loop, IORING_REGISTER_RESTRICTIONS, res,
	    (unsigned)n)) < 0 ||
	    (rc = ev_register(loop, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0)
		io_uring_queue_exit(&loop->ring);
	return rc;
}

void ev_exit(struct ev_loop *loop)
{
	io_uring_queue_exit(&loop->ring);
}

void ev_stop(struct ev_loop *loop)
{
	loop->stopping = 1;
}

struct io_uring_sqe *ev_sqe(struct ev_loop *loop, struct ev_op *op)
{
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(&loop->ring)) == NULL) {
		int rc;

		log_flush();		/* lines precede the SQEs, as in ev_run */
		rc = io_uring_submit(&loop->ring);

		if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR)
			panic("io_uring_submit: %s", strerror(-rc));
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

static unsigned ev_reap(struct ev_loop *loop)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&loop->ring, head, cqe) {
		struct ev_op *op = io_uring_cqe_get_data(cqe);

		n++;
		if (op != NULL)
			op->fn(op, cqe->res, cqe->flags);
	}
	io_uring_cq_advance(&loop->ring, n);
	return n;
}

int ev_run(struct ev_loop *loop)
{
	int ret = 0;

	log_hold(1);			/* one write(2) per turn, not per line */
	while (!loop->stopping) {
		unsigned i;
		int rc;

		if (loop->before_sleep)
			loop->before_sleep(loop, loop->before_sleep_arg);
		for (i = 0; i < ev_nrings; i++)
			ev_bufring_flush(ev_rings[i]);
		if (loop->stopping)
			break;
		log_flush();		/* before the turn's SQEs go out */
		rc = io_uring_submit_and_wait(&loop->ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY &&
		    rc != -ETIME) {
			ret = rc;
			break;
		}
		ev_reap(loop);
	}
	log_hold(0);
	if (ret == 0)
		io_uring_submit(&loop->ring);
	return ret;
}

void ev_accept(struct ev_loop *loop, struct ev_op *op, int fd)
{
	io_uring_prep_multishot_accept(ev_sqe(loop, op), fd, NULL, NULL,
	    SOCK_CLOEXEC | SOCK_NONBLOCK);
}

void ev_accept_one(struct ev_loop *loop, struct ev_op *op, int fd)
{
	io_uring_prep_accept(ev_sqe(loop, op), fd, NULL, NULL,
	    SOCK_CLOEXEC | SOCK_NONBLOCK);
}

void ev_recv_multishot(struct ev_loop *loop, struct ev_op *op, int fd,
    struct ev_bufring *br)
{
	struct io_uring_sqe *sqe = ev_sqe(loop, op);

	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16)br->bgid;
}

void ev_recv(struct ev_loop *loop, struct ev_op *op, int fd, void *buf,
    size_t len)
{
	io_uring_prep_recv(ev_sqe(loop, op), fd, buf, len, 0);
}

void ev_send(struct ev_loop *loop, struct ev_op *op, int fd, const void *buf,
    size_t len)
{
	io_uring_prep_send(ev_sqe(loop, op), fd, buf, len, MSG_NOSIGNAL);
}

void ev_recvmsg(struct ev_loop *loop, struct ev_op *op, int fd,
    struct msghdr *msg)
{
	io_uring_prep_recvmsg(ev_sqe(loop, op), fd, msg, MSG_CMSG_CLOEXEC);
}

void ev_sendmsg(struct ev_loop *loop, struct ev_op *op, int fd,
    const struct msghdr *msg)
{
	io_uring_prep_sendmsg(ev_sqe(loop, op), fd, msg, MSG_NOSIGNAL);
}

void ev_connect(struct ev_loop *loop, struct ev_op *op, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	io_uring_prep_connect(ev_sqe(loop, op), fd, sa, salen);
}

void ev_read(struct ev_loop *loop, struct ev_op *op, int fd, void *buf,
    size_t len, long long off)
{
	io_uring_prep_read(ev_sqe(loop, op), fd, buf, (unsigned)len,
	    (__u64)off);
}

void ev_write(struct ev_loop *loop, struct ev_op *op, int fd, const void *buf,
    size_t len, long long off)
{
	io_uring_prep_write(ev_sqe(loop, op), fd, buf, (unsigned)len,
	    (__u64)off);
}

void ev_fsync(struct ev_loop *loop, struct ev_op *op, int fd, int datasync)
{
	io_uring_prep_fsync(ev_sqe(loop, op), fd,
	    datasync ? IORING_FSYNC_DATASYNC : 0);
}

void ev_openat(struct ev_loop *loop, struct ev_op *op, int dirfd,
    const char *path, int flags, unsigned mode)
{
	io_uring_prep_openat(ev_sqe(loop, op), dirfd, path, flags, mode);
}

void ev_close(struct ev_loop *loop, struct ev_op *op, int fd)
{
	io_uring_prep_close(ev_sqe(loop, op), fd);
}

void ev_renameat(struct ev_loop *loop, struct ev_op *op, int olddirfd,
    const char *oldpath, int newdirfd, const char *newpath, unsigned flags)
{
	io_uring_prep_renameat(ev_sqe(loop, op), olddirfd, oldpath, newdirfd,
	    newpath, flags);
}

/* Not in the uapi headers of Debian 12 (Linux 6.1); its value since 6.9. */
#define EV_OP_FTRUNCATE 55

int ev_has_ftruncate(struct ev_loop *loop)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(&loop->ring);
	int yes;

	if (p == NULL)
		return 0;
	yes = p->last_op >= EV_OP_FTRUNCATE &&
	    io_uring_opcode_supported(p, EV_OP_FTRUNCATE);
	io_uring_free_probe(p);
	return yes;
}

void ev_prep_ftruncate(struct io_uring_sqe *sqe, int fd, uint64_t len)
{
	io_uring_prep_rw(EV_OP_FTRUNCATE, sqe, fd, NULL, 0, len);
}

void ev_unlinkat(struct ev_loop *loop, struct ev_op *op, int dirfd,
    const char *path, int flags)
{
	io_uring_prep_unlinkat(ev_sqe(loop, op), dirfd, path, flags);
}

void ev_timeout(struct ev_loop *loop, struct ev_op *op,
    struct __kernel_timespec *ts, unsigned ms)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long long)(ms % 1000) * 1000000;
	io_uring_prep_timeout(ev_sqe(loop, op), ts, 0, 0);
}

void ev_poll(struct ev_loop *loop, struct ev_op *op, int fd, unsigned mask)
{
	io_uring_prep_poll_add(ev_sqe(loop, op), fd, mask);
}

void ev_cancel_fd(struct ev_loop *loop, int fd)
{
	io_uring_prep_cancel_fd(ev_sqe(loop, NULL), fd,
	    IORING_ASYNC_CANCEL_ALL);
}

void ev_cancel_op(struct ev_loop *loop, struct ev_op *target)
{
	io_uring_prep_cancel(ev_sqe(loop, NULL), target,
	    IORING_ASYNC_CANCEL_ALL);
}

int ev_signal_open(struct ev_signal *s, ev_fn fn)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	if ((s->fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		return -errno;
	s->op.fn = fn;
	return 0;
}

void ev_signal_read(struct ev_loop *loop, struct ev_signal *s)
{
	ev_read(loop, &s->op, s->fd, &s->si, sizeof(s->si), -1);
}

int ev_bufring_setup(struct ev_loop *loop, struct ev_bufring *br,
    unsigned bgid, unsigned count, unsigned size)
{
	struct io_uring_buf_reg reg;
	size_t ringsz = count * sizeof(struct io_uring_buf);
	void *mem;
	unsigned i;
	int rc;

	if (count == 0 || (count & (count - 1)) || ev_nrings == EV_MAX_BUFRINGS)
		return -EINVAL;
	mem = mmap(NULL, ringsz, PROT_READ | PROT_WRITE,
	    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)mem;
	reg.ring_entries = count;
	reg.bgid = (__u16)bgid;
	if ((rc = io_uring_register_buf_ring(&loop->ring, &reg, 0)) < 0) {
		munmap(mem, ringsz);
		return rc;
	}
	br->br = mem;
	br->mem = xreallocarray(NULL, count, size);
	br->count = count;
	br->size = size;
	br->bgid = bgid;
	br->pending = 0;
	io_uring_buf_ring_init(br->br);
	for (i = 0; i < count; i++)
		io_uring_buf_ring_add(br->br, br->mem + (size_t)i * size, size,
		    (unsigned short)i, io_uring_buf_ring_mask(count), (int)i);
	io_uring_buf_ring_advance(br->br, (int)count);
	ev_rings[ev_nrings++] = br;
	return 0;
}

char *ev_bufring_data(struct ev_bufring *br, unsigned cqe_flags)
{
	unsigned bid;

	if (!(cqe_flags & IORING_CQE_F_BUFFER))
		return NULL;
	bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
	if (bid >= br->count)
		panic("buffer id %u out of range", bid);
	return br->mem + (size_t)bid * br->size;
}

void ev_bufring_put(struct ev_bufring *br, unsigned cqe_flags)
{
	unsigned bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;

	if (!(cqe_flags & IORING_CQE_F_BUFFER))
		return;
	io_uring_buf_ring_add(br->br, br->mem + (size_t)bid * br->size,
	    br->size, (unsigned short)bid, io_uring_buf_ring_mask(br->count),
	    (int)br->pending);
	br->pending++;
}

void ev_bufring_flush(struct ev_bufring *br)
{
	if (br->pending) {
		io_uring_buf_ring_advance(br->br, (int)br->pending);
		br->pending = 0;
	}
}
