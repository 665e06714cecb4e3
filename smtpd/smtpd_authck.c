/* smtpd_authck: password checks on helper threads; see smtpd_authck.h.
 * A job goes: check() on the loop (copies the credentials) -> run() on a
 * thread (authdb_check, the password wiped) -> job_done() on the loop
 * (failures counted, the delay timer) -> deliver() (the session's
 * callback if it is still there) -> freed. */
#include "smtpd/smtpd_authck.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct smtpd_authck_job {
	struct workq_job wj;
	struct smtpd_authck *ck;
	struct smtpd_authq *owner;	/* NULL: the session has gone */
	struct smtpd_authck_job *prev, *next;	/* ck->jobs */
	char client[SMTPD_IP_MAX];
	char user[USERS_ADDRESS_MAX + 1];
	char pass[USERS_PASSWORD_MAX + 1];
	int unusable;			/* too long, or a NUL: no match */
	int result;			/* enum smtpd_auth_result */
	struct ev_op timer_op;
	struct __kernel_timespec ts;
};

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

static void job_free(struct smtpd_authck_job *j)
{
	struct smtpd_authck *ck = j->ck;

	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		ck->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	explicit_bzero(j->pass, sizeof(j->pass));
	free(j);
}

/* On a helper thread.  An unusable password still costs a crypt, so
 * its answer takes as long as any other. */
static void job_run(struct workq_job *wj)
{
	struct smtpd_authck_job *j = container_of(wj, struct smtpd_authck_job,
	    wj);
	int rc = authdb_check(&j->ck->db, j->user, j->unusable ? "" : j->pass);

	explicit_bzero(j->pass, sizeof(j->pass));
	if (rc < 0)
		j->result = SMTPD_AUTH_TEMP;
	else
		j->result = rc == 1 && !j->unusable ? SMTPD_AUTH_OK :
		    SMTPD_AUTH_FAIL;
}

static void deliver(struct smtpd_authck_job *j)
{
	struct smtpd_authq *q = j->owner;

	if (q != NULL) {
		q->job = NULL;
		q->done(q, j->result);	/* may free the session */
	}
	job_free(j);
}

static void on_delay(struct ev_op *op, int res, unsigned flags)
{
	(void)res;
	(void)flags;
	deliver(container_of(op, struct smtpd_authck_job, timer_op));
}

/* Back on the loop: count a failure, then answer (after the delay). */
static void job_done(struct workq_job *wj)
{
	struct smtpd_authck_job *j = container_of(wj, struct smtpd_authck_job,
	    wj);
	unsigned delay = j->ck->conf->smtpd_auth_fail_delay;

	if (j->result != SMTPD_AUTH_FAIL) {
		deliver(j);
		return;
	}
	authfail_record(&j->ck->fails, j->client, now_s());
	if (delay == 0 || j->owner == NULL) {
		deliver(j);
		return;
	}
	j->timer_op.fn = on_delay;
	ev_timeout(j->ck->loop, &j->timer_op, &j->ts, delay * 1000);
}

static int ck_blocked(void *ctx, const char *client)
{
	struct smtpd_authck *ck = ctx;

	return authfail_blocked(&ck->fails, client, now_s());
}

static void ck_check(void *ctx, struct smtpd_authq *q, const char *client,
    const char *user, const char *pass, size_t passlen)
{
	struct smtpd_authck *ck = ctx;
	struct smtpd_authck_job *j = xcalloc(1, sizeof(*j));

	j->ck = ck;
	j->owner = q;
	snprintf(j->client, sizeof(j->client), "%s", client);
	snprintf(j->user, sizeof(j->user), "%s", user);
	if (passlen > USERS_PASSWORD_MAX || memchr(pass, '\0', passlen))
		j->unusable = 1;	/* never cut a password short */
	else
		memcpy(j->pass, pass, passlen);
	j->wj.run = job_run;
	j->wj.done = job_done;
	if ((j->next = ck->jobs) != NULL)
		j->next->prev = j;
	ck->jobs = j;
	q->job = j;
	workq_submit(&ck->q, &j->wj);
}

static void ck_cancel(void *ctx, struct smtpd_authq *q)
{
	struct smtpd_authck_job *j = q->job;

	(void)ctx;
	if (j != NULL)
		j->owner = NULL;
	q->job = NULL;
}

const struct smtpd_authck_ops smtpd_authck_ops = {
	.blocked = ck_blocked,
	.check = ck_check,
	.cancel = ck_cancel,
};

int smtpd_authck_start(struct smtpd_authck *ck, struct ev_loop *loop,
    const struct conf *c)
{
	memset(ck, 0, sizeof(*ck));
	ck->loop = loop;
	ck->conf = c;
	authfail_init(&ck->fails, AUTHFAIL_SLOTS, c->smtpd_auth_fail_limit,
	    c->smtpd_auth_fail_window);
	authdb_init(&ck->db, c->users_file, c->auth_cache_ttl);
	return workq_start(&ck->q, loop, SMTPD_AUTH_THREADS);
}

void smtpd_authck_stop(struct smtpd_authck *ck)
{
	workq_stop(&ck->q);
	while (ck->jobs != NULL)
		job_free(ck->jobs);
	authdb_free(&ck->db);
	authfail_free(&ck->fails);
}
