/* sandbox: the seccomp allow-lists of mta-smtpd and mta-pop3d; see
 * sandbox.h.  Found by reading the code paths and by strace -f of the
 * daemons through their system tests (plain, STARTTLS/implicit TLS, AUTH,
 * POP3 Maildir work): the ring (io_uring_enter; what it runs is limited
 * by sandbox_ring), the allocator (jemalloc or glibc), OpenSSL after its
 * context is built (getrandom), the users_file/aliases_file refresh,
 * syslog reconnecting, abort(), and for pop3d the helper threads'
 * Maildir work.  socket(2) only for AF_UNIX (the queue writer, syslog);
 * tgkill only to ourselves; mmap and mprotect never PROT_EXEC.  No
 * execve, fork/clone, ptrace, bind, listen, mount, setuid & co,
 * io_uring_setup, bpf, open_by_handle_at... */
#include "lib/sandbox.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Both daemons. */
static const int sandbox_common[] = {
	/* I/O on descriptors already open, files by path (Landlock and
	 * the daemon's user decide which) */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek),
	SCMP_SYS(close), SCMP_SYS(openat), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fcntl),
	SCMP_SYS(getdents64),
	/* the ring */
	SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
	/* sockets: accepted ones, the queue writer's, syslog's */
	SCMP_SYS(getpeername), SCMP_SYS(getsockname), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockopt), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(shutdown), SCMP_SYS(connect),
	/* memory: jemalloc, glibc malloc, thread stacks, crypt (mmap and
	 * mprotect: below, never executable) */
	SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(mremap), SCMP_SYS(brk),
	/* threads, time, randomness, signals, exit */
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall), SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	/* a helper thread created just before the filter is still starting
	 * (TSYNC covers it already) */
	SCMP_SYS(rseq), SCMP_SYS(set_robust_list), SCMP_SYS(sigaltstack),
};

/* pop3d's helper threads: the Maildir (flock, new/ -> cur/, UPDATE). */
static const int sandbox_pop3d[] = {
	SCMP_SYS(flock), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(unlinkat), SCMP_SYS(mkdirat), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(dup),
};

static int allow_all(scmp_filter_ctx ctx, const int *v, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, v[i], 0)) < 0)
			return rc;
	return 0;
}

/* The rules with an argument check. */
static int allow_narrow(scmp_filter_ctx ctx)
{
	int rc;

	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX))) < 0)
		return rc;
	/* No new executable memory: nothing is loaded after set-up. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0)
		return rc;
	/* abort(): SIGABRT to ourselves only */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
}

int sandbox_seccomp(enum sandbox_kind kind)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc;

	if (ctx == NULL)
		return -ENOMEM;
	/* Every thread, not just the caller: the helper threads already run. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (rc = allow_all(ctx, sandbox_common,
	    ARRAY_LEN(sandbox_common))) < 0 ||
	    (rc = allow_narrow(ctx)) < 0)
		goto out;
	if (kind == SANDBOX_POP3D &&
	    (rc = allow_all(ctx, sandbox_pop3d, ARRAY_LEN(sandbox_pop3d))) < 0)
		goto out;
	rc = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return rc;
}

void sandbox_syscalls(enum sandbox_kind kind, const struct conf *c)
{
	int rc;

	if (!c->seccomp) {
		log_info("seccomp = no: no system call filter");
		return;
	}
#if defined(__SANITIZE_ADDRESS__)
	log_info("sanitizer build: no system call filter (LeakSanitizer "
	    "needs ptrace and clone at exit)");
	return;
#endif
	if ((rc = sandbox_seccomp(kind)) < 0)
		fatalx("seccomp filter: %s", strerror(-rc));
	log_info("seccomp: system call allow-list on every thread");
}
