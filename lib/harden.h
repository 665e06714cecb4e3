/* harden: the process hardening every daemon can share without another
 * library: no_new_privs (the master sets it before exec too; a daemon
 * started by hand sets it itself) and no core dumps for the processes
 * that hold keys or passwords (mta-smtpd, mta-pop3d, mta-local,
 * mta-remote).  The seccomp filter is lib/sandbox, the filesystem
 * confinement lib/landlock. */
#ifndef LIB_HARDEN_H
#define LIB_HARDEN_H

/* prctl(PR_SET_NO_NEW_PRIVS): execve can never gain privileges again
 * (setuid bits, file capabilities).  0 or -errno. */
int harden_no_new_privs(void);
/* No core file and no ptrace by our own uid: RLIMIT_CORE 0 (soft and
 * hard) and PR_SET_DUMPABLE 0.  Call first thing in main, before a key or
 * password is read.  /proc/<pid> then belongs to root, so root (and
 * anyone for the world-readable stat and status) still reads it.
 * 0 or -errno. */
int harden_nodump(void);
/* Both, fatal on failure: a daemon's first call. */
void harden_daemon(int nodump);
#endif
