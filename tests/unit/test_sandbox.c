/* Unit tests for lib/sandbox*.c, each in a forked child so the test
 * process stays free: the real smtpd and pop3d seccomp filters kill the
 * process (SIGSYS) on execve, ptrace, socket(AF_PACKET), fork, executable
 * memory, also from a thread started before the filter (TSYNC), while
 * what the daemons do still works; the rings' io_uring restrictions
 * refuse opcodes off the
 * list (-EACCES); the Landlock rulesets let smtpd read only beneath the
 * directories of users_file and aliases_file and pop3d also write beneath
 * mail/, nothing else (EACCES), when the kernel has Landlock. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/ev.h"
#include "lib/harden.h"
#include "lib/sandbox.h"

typedef void (*child_fn)(void *arg);

/* Run fn in a child; its wait status. */
static int in_child(child_fn fn, void *arg)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_sigsys(int status)
{
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "status %#x: not killed by SIGSYS", status);
}

static void assert_exit0(int status)
{
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x: not a clean exit", status);
}

static void install(enum sandbox_kind kind)
{
	if (sandbox_seccomp(kind) < 0)
		_exit(90);
}

/* What the daemons do after set-up: AF_UNIX socket, time, a pipe's
 * read and write, getpid, mmap. */
static void allowed_calls(void *arg)
{
	char c = 'x';
	int p[2], fd;
	struct timespec ts;

	if (pipe(p) < 0)
		_exit(91);
	install(*(enum sandbox_kind *)arg);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		_exit(92);
	close(fd);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0)
		_exit(93);
	if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
		_exit(94);
	free(calloc(1, 1 << 20));
}

static void call_execve(void *arg)
{
	char *argv[] = { (char *)"true", NULL };

	install(*(enum sandbox_kind *)arg);
	execve("/bin/true", argv, NULL);
	_exit(95);
}

static void call_ptrace(void *arg)
{
	install(*(enum sandbox_kind *)arg);
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	_exit(95);
}

static void call_packet_socket(void *arg)
{
	install(*(enum sandbox_kind *)arg);
	(void)socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	_exit(95);
}

static void call_fork(void *arg)
{
	install(*(enum sandbox_kind *)arg);
	if (syscall(SYS_fork) == 0)
		_exit(96);
	_exit(95);
}

static void call_mprotect_exec(void *arg)
{
	static char page[4096] __attribute__((aligned(4096)));

	install(*(enum sandbox_kind *)arg);
	if (mprotect(page, sizeof(page), PROT_READ | PROT_WRITE) < 0)
		_exit(94);	/* allowed */
	(void)mprotect(page, sizeof(page), PROT_READ | PROT_EXEC);
	_exit(95);
}

static enum sandbox_kind smtpd = SANDBOX_SMTPD, pop3d = SANDBOX_POP3D;

Test(sandbox, smtpd_filter_allows_what_smtpd_does)
{
	assert_exit0(in_child(allowed_calls, &smtpd));
}

Test(sandbox, pop3d_filter_allows_what_pop3d_does)
{
	assert_exit0(in_child(allowed_calls, &pop3d));
}

Test(sandbox, smtpd_filter_kills_execve_ptrace_packet_socket_fork)
{
	assert_sigsys(in_child(call_execve, &smtpd));
	assert_sigsys(in_child(call_ptrace, &smtpd));
	assert_sigsys(in_child(call_packet_socket, &smtpd));
	assert_sigsys(in_child(call_fork, &smtpd));
	assert_sigsys(in_child(call_mprotect_exec, &smtpd));
}

Test(sandbox, pop3d_filter_kills_execve_and_packet_socket)
{
	assert_sigsys(in_child(call_execve, &pop3d));
	assert_sigsys(in_child(call_packet_socket, &pop3d));
}

/* A thread started before the filter is covered too (TSYNC). */
static int go;

static void *late_thread(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		usleep(1000);
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	_exit(95);
}

static void thread_then_filter(void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, late_thread, NULL) != 0)
		_exit(97);
	install(*(enum sandbox_kind *)arg);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	_exit(98);
}

Test(sandbox, filter_covers_threads_started_before_it)
{
	assert_sigsys(in_child(thread_then_filter, &smtpd));
}

/* Submit one SQE and return its result. */
static int ring_one(struct ev_loop *l, struct io_uring_sqe *sqe)
{
	struct io_uring_cqe *cqe;
	int res;

	io_uring_sqe_set_data(sqe, NULL);
	cr_assert_eq(io_uring_submit(&l->ring), 1);
	cr_assert_eq(io_uring_wait_cqe(&l->ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(&l->ring, cqe);
	return res;
}

Test(sandbox, rings_refuse_opcodes_off_their_list)
{
	struct __kernel_timespec ts = { 0, 1000000 };
	enum sandbox_kind kinds[] = { SANDBOX_SMTPD, SANDBOX_POP3D };
	struct io_uring_sqe *sqe;
	struct ev_loop l;

	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(ev_init_restricted(&l, 8, sandbox_ring(kinds[i])),
		    0);
		sqe = io_uring_get_sqe(&l.ring);
		io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
		cr_expect_eq(ring_one(&l, sqe), -EACCES);
		sqe = io_uring_get_sqe(&l.ring);
		io_uring_prep_nop(sqe);
		cr_expect_eq(ring_one(&l, sqe), -EACCES);
		sqe = io_uring_get_sqe(&l.ring);
		io_uring_prep_unlinkat(sqe, AT_FDCWD, "/nonexistent", 0);
		cr_expect_eq(ring_one(&l, sqe), -EACCES);
		/* Allowed: a timeout expires normally... */
		sqe = io_uring_get_sqe(&l.ring);
		io_uring_prep_timeout(sqe, &ts, 0, 0);
		cr_expect_eq(ring_one(&l, sqe), -ETIME);
		/* ...but not with a flag off the list (drain). */
		sqe = io_uring_get_sqe(&l.ring);
		io_uring_prep_timeout(sqe, &ts, 0, 0);
		sqe->flags |= IOSQE_IO_DRAIN;
		cr_expect_eq(ring_one(&l, sqe), -EACCES);
		ev_exit(&l);
	}
}

/* ---- Landlock ---------------------------------------------------------- */

static char top[64];

static void mkfile(const char *dir, const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_geq(fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	cr_assert_eq(write(fd, "x\n", 2), 2);
	close(fd);
}

static void setup_tree(void)
{
	char p[128];

	snprintf(top, sizeof(top), "/tmp/test_sandbox.XXXXXX");
	cr_assert_not_null(mkdtemp(top));
	/* etc/ (users, aliases), state/mail/ (a Maildir), secret/ */
	const char *dirs[] = { "etc", "state", "state/mail",
	    "state/mail/new", "state/mail/cur", "secret" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", top, dirs[i]);
		cr_assert_eq(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof(p), "%s/etc", top);
	mkfile(p, "users");
	mkfile(p, "aliases");
	snprintf(p, sizeof(p), "%s/secret", top);
	mkfile(p, "key.pem");
	snprintf(p, sizeof(p), "%s/state", top);
	mkfile(p, "spoolfile");
	snprintf(p, sizeof(p), "%s/state/mail/new", top);
	mkfile(p, "1.msg");
}

static void teardown_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	(void)!system(cmd);
}

static void landlock_or_skip(void)
{
	if (sandbox_fs_abi() < 0)
		cr_skip_test("no Landlock on this kernel");
}

/* errno of open(top/rel, flags), 0 if it opened. */
static int open_err(const char *rel, int flags)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if ((fd = open(p, flags | O_CLOEXEC, 0600)) < 0)
		return errno;
	close(fd);
	return 0;
}

static void confine(enum sandbox_kind kind)
{
	struct sandbox_fs_rule rules[SANDBOX_FS_RULES_MAX];
	static struct conf c;
	size_t n;

	conf_defaults(&c);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s/state", top);
	snprintf(c.users_file, sizeof(c.users_file), "%s/etc/users", top);
	snprintf(c.aliases_file, sizeof(c.aliases_file), "%s/etc/aliases",
	    top);
	n = sandbox_fs_rules(kind, &c, rules);
	if (sandbox_fs_apply(rules, n) < 0)
		_exit(90);
}

#define EXPECT(cond, code) do { if (!(cond)) _exit(code); } while (0)

static void smtpd_fs(void *arg)
{
	(void)arg;
	confine(SANDBOX_SMTPD);
	EXPECT(open_err("etc/users", O_RDONLY) == 0, 10);
	EXPECT(open_err("etc/aliases", O_RDONLY) == 0, 11);
	/* a new users_file, as mtactl user's rename leaves it */
	EXPECT(open_err("etc/users.new", O_WRONLY | O_CREAT) == EACCES, 12);
	EXPECT(open_err("etc/users", O_WRONLY) == EACCES, 13);
	EXPECT(open_err("secret/key.pem", O_RDONLY) == EACCES, 14);
	EXPECT(open_err("state/spoolfile", O_RDONLY) == EACCES, 15);
	EXPECT(open_err("state/mail/new/1.msg", O_RDONLY) == EACCES, 16);
	EXPECT(open_err("etc", O_RDONLY | O_DIRECTORY) == EACCES, 17);
	EXPECT(open("/etc/passwd", O_RDONLY) < 0 && errno == EACCES, 18);
}

static void pop3d_fs(void *arg)
{
	char from[256], to[256];

	(void)arg;
	confine(SANDBOX_POP3D);
	EXPECT(open_err("etc/users", O_RDONLY) == 0, 20);
	EXPECT(open_err("etc/users", O_WRONLY) == EACCES, 21);
	EXPECT(open_err("state/mail/new", O_RDONLY | O_DIRECTORY) == 0, 22);
	EXPECT(open_err("state/mail/.lock", O_RDWR | O_CREAT) == 0, 23);
	snprintf(from, sizeof(from), "%s/state/mail/new/1.msg", top);
	snprintf(to, sizeof(to), "%s/state/mail/cur/1.msg", top);
	EXPECT(rename(from, to) == 0, 24);
	EXPECT(unlink(to) == 0, 25);
	EXPECT(open_err("state/spoolfile", O_RDONLY) == EACCES, 26);
	EXPECT(open_err("state/x", O_WRONLY | O_CREAT) == EACCES, 27);
	EXPECT(open_err("secret/key.pem", O_RDONLY) == EACCES, 28);
	EXPECT(open_err("etc/aliases", O_RDONLY) == 0, 29);	/* same dir */
}

Test(sandbox, landlock_smtpd_reads_only_its_tables,
    .init = setup_tree, .fini = teardown_tree)
{
	landlock_or_skip();
	assert_exit0(in_child(smtpd_fs, NULL));
}

Test(sandbox, landlock_pop3d_writes_only_beneath_mail,
    .init = setup_tree, .fini = teardown_tree)
{
	landlock_or_skip();
	assert_exit0(in_child(pop3d_fs, NULL));
}

/* ---- no core dumps ----------------------------------------------------- */

static void nodump_then_abort(void *arg)
{
	(void)arg;
	struct rlimit rl;

	if (harden_nodump() < 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		_exit(90);
	abort();
}

Test(sandbox, nodump_turns_core_dumps_off)
{
	int status = in_child(nodump_then_abort, NULL);

	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	cr_assert(!WCOREDUMP(status), "a core was dumped");
}
