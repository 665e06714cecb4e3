/* smtpd_authck: the password checks behind smtpd's AUTH (struct
 * smtpd_authck_ops, smtpd.h), off the ring: yescrypt against users_file
 * (lib/authdb) on lib/workq's helper threads; a failure is counted
 * against the client's address (lib/authfail: smtpd_auth_fail_limit
 * within smtpd_auth_fail_window, per worker process) and answered after
 * smtpd_auth_fail_delay, on a ring timer.  A job is its own allocation and
 * outlives a session that goes away meanwhile (cancel only detaches it), so
 * the session's memory is never touched after it is freed; a failure is
 * counted even then, so hanging up does not dodge the limit. */
#ifndef SMTPD_AUTHCK_H
#define SMTPD_AUTHCK_H
#include "lib/authdb.h"
#include "lib/authfail.h"
#include "lib/conf.h"
#include "lib/ev.h"
#include "lib/workq.h"
#include "smtpd/smtpd.h"

#define SMTPD_AUTH_THREADS 2

struct smtpd_authck_job;

struct smtpd_authck {
	struct ev_loop *loop;
	const struct conf *conf;
	struct workq q;
	struct authdb db;
	struct authfail fails;
	struct smtpd_authck_job *jobs;	/* every live job (for stop) */
};

/* Load users_file and start the threads.  0 or -errno. */
int smtpd_authck_start(struct smtpd_authck *ck, struct ev_loop *loop,
    const struct conf *c);
/* After the loop has ended: join the threads, free every job. */
void smtpd_authck_stop(struct smtpd_authck *ck);
/* The session's view (ctx is the struct smtpd_authck). */
extern const struct smtpd_authck_ops smtpd_authck_ops;
#endif
