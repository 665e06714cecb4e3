/* Unit tests for lib/ev's file operations that liburing 2.3 lacks: the
 * probe says whether the running kernel has ftruncate on the ring, and
 * where it does, the SQE cuts a real file to the length asked (and
 * extends one, as ftruncate(2) does). */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/mem.h"

struct t_res {
	struct ev_op op;
	int res, got;
};

static struct ev_loop loop;

static void t_on(struct ev_op *op, int res, unsigned flags)
{
	struct t_res *r = container_of(op, struct t_res, op);

	(void)flags;
	r->res = res;
	r->got = 1;
	ev_stop(&loop);
}

static int truncate_on_ring(int fd, uint64_t len)
{
	struct t_res r = { .op.fn = t_on };

	ev_prep_ftruncate(ev_sqe(&loop, &r.op), fd, len);
	loop.stopping = 0;	/* ev_stop of the previous call */
	cr_assert_eq(ev_run(&loop), 0);
	cr_assert(r.got);
	return r.res;
}

/* 1 if uname says Linux 6.9 or later. */
static int kernel_has_ftruncate_op(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	cr_assert_eq(uname(&u), 0);
	sscanf(u.release, "%d.%d", &major, &minor);
	return major > 6 || (major == 6 && minor >= 9);
}

Test(ev_file, ftruncate_on_the_ring_cuts_and_extends)
{
	char path[] = "/tmp/test_ev_file.XXXXXX";
	char buf[4096] = { 'x' };
	struct stat st;
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	cr_assert_eq(ev_init(&loop, 8), 0);
	cr_assert_eq(ev_has_ftruncate(&loop), kernel_has_ftruncate_op(),
	    "the probe disagrees with the kernel version");
	if (!ev_has_ftruncate(&loop)) {
		ev_exit(&loop);
		close(fd);
		cr_skip_test("no IORING_OP_FTRUNCATE on this kernel");
	}
	cr_assert_eq(truncate_on_ring(fd, 100), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 100);
	cr_assert_eq(truncate_on_ring(fd, 8192), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 8192);
	cr_assert_eq(truncate_on_ring(-1, 0), -EBADF);
	ev_exit(&loop);
	close(fd);
}
