/* sandbox: what confines the network-facing daemons (mta-smtpd,
 * mta-pop3d) once set-up is over.  Three layers, each for what the others
 * cannot see:
 *  - sandbox_fs: Landlock, before any helper thread starts (a ruleset
 *    binds the calling thread and the threads it creates later): read-only
 *    access beneath the directories of users_file and aliases_file, for
 *    pop3d also read+write beneath $state_dir/mail; no other file, no
 *    TCP bind or connect, no signals or abstract sockets outside.  It also
 *    covers the opens the kernel does for the ring (io-wq runs with the
 *    submitter's credentials).
 *  - sandbox_ring_*: the io_uring opcodes each ring may ever run
 *    (ev_init_restricted); seccomp never sees what the ring does.
 *  - sandbox_syscalls: a seccomp allow-list (libseccomp) on every thread
 *    (TSYNC), at the end of set-up; anything else kills the process.
 * Whoever adds a syscall or a ring opcode to these daemons adds it here.
 * sandbox.c links libseccomp: only mta-smtpd and mta-pop3d use it. */
#ifndef LIB_SANDBOX_H
#define LIB_SANDBOX_H
#include <stddef.h>
#include <stdint.h>

struct conf;
struct ev_allow;

enum sandbox_kind {
	SANDBOX_SMTPD,
	SANDBOX_POP3D,
};

/* One Landlock rule: access (LANDLOCK_ACCESS_FS_*) beneath path. */
struct sandbox_fs_rule {
	char path[4096];
	uint64_t access;
};

#define SANDBOX_FS_RULES_MAX 4

/* The Landlock ABI version of this kernel, or -errno (-ENOSYS,
 * -EOPNOTSUPP: not built in or disabled at boot). */
int sandbox_fs_abi(void);
/* kind's rules from c (at most SANDBOX_FS_RULES_MAX); returns how many. */
size_t sandbox_fs_rules(enum sandbox_kind kind, const struct conf *c,
    struct sandbox_fs_rule *out);
/* Restrict the calling thread (and those it starts after) to rules, every
 * filesystem right this ABI knows being handled.  A rule whose path
 * cannot be opened is left out.  Returns the ABI used, or -errno. */
int sandbox_fs_apply(const struct sandbox_fs_rule *rules, size_t n);
/* The daemon's call before its helper threads start: apply kind's
 * rules, log one line saying what is in force (or why Landlock is not);
 * fatal if the kernel has Landlock but refuses the ruleset. */
void sandbox_fs(enum sandbox_kind kind, const struct conf *c);

/* kind's io_uring allow-list for ev_init_restricted. */
const struct ev_allow *sandbox_ring(enum sandbox_kind kind);

/* Install kind's seccomp allow-list on every thread of the process;
 * default action: kill the process (SIGSYS).  0 or -errno. */
int sandbox_seccomp(enum sandbox_kind kind);
/* The daemon's call at the end of set-up (ring, listeners, helper
 * threads): sandbox_seccomp unless c->seccomp is off or this is a
 * sanitizer build (ASan/LSan need ptrace and more at exit); one log line
 * either way; fatal if the filter cannot be installed. */
void sandbox_syscalls(enum sandbox_kind kind, const struct conf *c);
#endif
