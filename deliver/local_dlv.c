/* local_dlv: one recipient's delivery into a Maildir; see local_dlv.h.
 * Every file operation is an SQE on the process ring with the delivery's
 * one op, so a delivery has at most one request in flight and its state
 * says which.  The chunk buffer is the delivery's own: a job freed under
 * it (link lost) never leaves the kernel reading freed memory; the
 * delivery then stops at its next completion and removes its temp file. */
#include "deliver/local_dlv.h"
#include "deliver/local_mbox.h"
#include "deliver/local_msg.h"
#include "deliver/local_run.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LOCAL_USERS_RETRY_MS 1000

static void on_op(struct ev_op *op, int res, unsigned flags);

static void set(struct local *lo, struct local_job *j, size_t ri,
    enum agent_class c, const char *dsn, const char *text)
{
	local_run_set(lo, j, ri, c, dsn, text);
}

/* 1 if rcpt is postmaster at one of local_domains (always deliverable). */
static int is_postmaster(const struct conf *c, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');

	return at != NULL && (size_t)(at - rcpt) == strlen("postmaster") &&
	    strncasecmp(rcpt, "postmaster", strlen("postmaster")) == 0 &&
	    conf_is_local_domain(c, at + 1);
}

/* The users_file snapshot, loaded or refreshed; NULL when unreadable. */
static struct users *users(struct local *lo, char *err, size_t errlen)
{
	uint64_t now = agent_now_ms();
	int rc;

	if (lo->users == NULL && now < lo->users_retry_at)
		return NULL;
	rc = users_refresh(&lo->users, lo->conf->users_file, err, errlen);
	if (rc < 0) {
		log_warn("users_file %s", err);
		if (lo->users == NULL)
			lo->users_retry_at = now + LOCAL_USERS_RETRY_MS;
	}
	return lo->users;
}

/* Account and loop checks: 0 go on, 1 answered. */
static int check_rcpt(struct local *lo, struct local_job *j, size_t ri)
{
	const char *rcpt = j->a.rcpts[ri].addr;
	const struct queue_msg *m = &j->a.msg;
	char err[512] = "", text[600];
	struct users *u;

	if (!is_postmaster(lo->conf, rcpt)) {
		if ((u = users(lo, err, sizeof(err))) == NULL) {
			snprintf(text, sizeof(text), "cannot read the users "
			    "file: %s", err[0] ? err : "retrying");
			set(lo, j, ri, AGENT_DEFERRED, AGENT_DSN_FAILED, text);
			return 1;
		}
		if (!users_exists(u, rcpt)) {
			set(lo, j, ri, AGENT_BOUNCED, "5.1.1", "unknown user");
			return 1;
		}
	}
	if (local_msg_loop(m->content, m->content_len, rcpt)) {
		set(lo, j, ri, AGENT_BOUNCED, "5.4.6", "mail forwarding loop");
		return 1;
	}
	return 0;
}

static void fail_text(char *text, size_t n, const char *step, int err)
{
	snprintf(text, n, "%s: %s", step, strerror(-err));
}

/* Mailbox and quota: 0 go on (d->mb set, size reserved), 1 answered. */
static int check_mbox(struct local *lo, struct local_job *j, size_t ri,
    struct local_dlv *d)
{
	const char *rcpt = j->a.rcpts[ri].addr;
	const struct conf *c = lo->conf;
	char path[LOCAL_PATH_MAX], text[600];
	int rc;

	if (maildir_path(lo->mail_root, rcpt, path, sizeof(path)) < 0) {
		set(lo, j, ri, AGENT_BOUNCED, "5.1.1", "unknown user");
		return 1;
	}
	d->mb = local_mbox_get(lo, path);
	if ((rc = local_mbox_ready(lo, d->mb)) < 0) {
		fail_text(text, sizeof(text), "create mailbox", rc);
	} else if ((rc = local_mbox_reserve(d->mb, d->size,
	    c->mailbox_quota)) == -EDQUOT) {
		int bounce = strcmp(c->mailbox_quota_action, "bounce") == 0;

		set(lo, j, ri, bounce ? AGENT_BOUNCED : AGENT_DEFERRED,
		    bounce ? "5.2.2" : "4.2.2", "552 5.2.2 mailbox full "
		    "(over quota)");
		return 1;
	} else if (rc < 0) {
		fail_text(text, sizeof(text), "scan mailbox", rc);
	} else {
		d->reserved = 1;
		return 0;
	}
	set(lo, j, ri, AGENT_DEFERRED, AGENT_DSN_FAILED, text);
	return 1;
}

int local_dlv_check(struct local *lo, struct local_job *j, size_t ri)
{
	return check_rcpt(lo, j, ri);
}

static struct local_dlv *dlv_new(struct local *lo, struct local_job *j,
    size_t ri)
{
	struct local_dlv *d = xcalloc(1, sizeof(*d));
	const struct queue_msg *m = &j->a.msg;

	d->lo = lo;
	d->job = j;
	d->ri = ri;
	d->fd = -1;
	d->op.fn = on_op;
	d->usec = agent_now_us();
	d->seq = ++lo->seq;
	buf_init(&d->chunk, 0);
	if (local_msg_header(&d->chunk, m->sender, j->a.rcpts[ri].addr) < 0)
		panic("out of memory");
	maildir_wire_init(&d->mw);
	d->wire = maildir_wire_count(&d->mw, d->chunk.data, d->chunk.len);
	d->size = (uint64_t)d->chunk.len +
	    local_msg_lf_size(m->content, m->content_len);
	return d;
}

static void dlv_free(struct local *lo, struct local_dlv *d)
{
	if (d->mb != NULL) {
		if (d->reserved)
			local_mbox_release(d->mb, d->size, 0);
		local_mbox_put(lo, d->mb);
	}
	buf_free(&d->chunk);
	free(d);
}

/* The delivery is over; its result (if wanted) goes out last, since it
 * may answer and free the job. */
static void dlv_end(struct local_dlv *d, enum agent_class c, const char *dsn,
    const char *text)
{
	struct local *lo = d->lo;
	struct local_job *j = d->job;
	size_t ri = d->ri;

	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		lo->dlvs = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	lo->ndlvs--;
	dlv_free(lo, d);
	if (j != NULL)
		local_run_set(lo, j, ri, c, dsn, text);
	local_run_more(lo);
}

/* Names: tmp/ while written, new/ with the final sizes. */
static int dlv_name(struct local_dlv *d, char *out, size_t n,
    const char *sub, uint64_t size, uint64_t wire)
{
	char name[MAILDIR_NAME_MAX + 1];
	int k;

	if (maildir_name(name, sizeof(name), d->usec, (long)getpid(), d->seq,
	    d->lo->conf->hostname, size, wire) < 0)
		return -ENAMETOOLONG;
	k = snprintf(out, n, "%s/%s/%s", d->mb->path, sub, name);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

/* Something failed: remember the first error, close and remove the temp
 * file, then end deferred. */
static void fail(struct local_dlv *d, const char *step, int err)
{
	if (d->err == 0) {
		d->err = err;
		d->err_step = step;
	}
	if (d->fd >= 0) {
		d->state = LD_CLEANUP_CLOSE;
		ev_close(&d->lo->loop, &d->op, d->fd);
		d->fd = -1;
		return;
	}
	if (d->state != LD_OPEN && d->state != LD_CLEANUP_UNLINK) {
		d->state = LD_CLEANUP_UNLINK;
		ev_unlinkat(&d->lo->loop, &d->op, AT_FDCWD, d->tmp, 0);
		return;
	}
	{
		char text[600];

		fail_text(text, sizeof(text), d->err_step, d->err);
		dlv_end(d, AGENT_DEFERRED, AGENT_DSN_FAILED, text);
	}
}

/* The next piece of stored form into the chunk: 0, or 1 at the end. */
static int fill(struct local_dlv *d)
{
	const struct queue_msg *m = &d->job->a.msg;
	size_t end, before;

	if (d->chunk_off < d->chunk.len)
		return 0;
	if (d->src_off >= m->content_len)
		return 1;
	buf_reset(&d->chunk);
	d->chunk_off = 0;
	end = local_msg_cut(m->content, m->content_len, d->src_off,
	    LOCAL_CHUNK);
	if (buf_reserve(&d->chunk, end - d->src_off) < 0)
		panic("out of memory");
	before = d->chunk.len;
	d->chunk.len += local_msg_lf(m->content + d->src_off, end - d->src_off,
	    d->chunk.data + d->chunk.len);
	d->wire += maildir_wire_count(&d->mw, d->chunk.data + before,
	    d->chunk.len - before);
	d->src_off = end;
	return 0;
}

static void write_next(struct local_dlv *d)
{
	if (fill(d) == 0) {
		d->state = LD_WRITE;
		ev_write(&d->lo->loop, &d->op, d->fd, d->chunk.data +
		    d->chunk_off, d->chunk.len - d->chunk_off,
		    (long long)d->foff);
		return;
	}
	d->state = LD_FSYNC;
	ev_fsync(&d->lo->loop, &d->op, d->fd, 0);
}

static void renamed(struct local_dlv *d)
{
	local_mbox_release(d->mb, d->size, 1);
	d->reserved = 0;
	d->state = LD_SYNC;
	local_mbox_sync(d->lo, d->mb, d);
}

/* The file is complete and durable: its final name, then the rename. */
static void closed(struct local_dlv *d)
{
	int rc;

	if (d->foff != d->size)
		panic("%s: wrote %llu bytes, expected %llu", d->job->a.qid,
		    (unsigned long long)d->foff, (unsigned long long)d->size);
	d->wire += maildir_wire_end(&d->mw);
	if ((rc = dlv_name(d, d->dst, sizeof(d->dst), "new", d->size,
	    d->wire)) < 0) {
		d->state = LD_CLOSE;
		fail(d, "file name", rc);
		return;
	}
	d->state = LD_RENAME;
	ev_renameat(&d->lo->loop, &d->op, AT_FDCWD, d->tmp, AT_FDCWD, d->dst,
	    RENAME_NOREPLACE);
}

static void on_cleanup(struct local_dlv *d, int res)
{
	if (d->state == LD_CLEANUP_CLOSE) {
		d->state = LD_CLEANUP_UNLINK;
		ev_unlinkat(&d->lo->loop, &d->op, AT_FDCWD, d->tmp, 0);
		return;
	}
	if (res < 0 && res != -ENOENT)
		log_warn("%s: %s", d->tmp, strerror(-res));
	fail(d, d->err_step, d->err);
}

static void on_op(struct ev_op *op, int res, unsigned flags)
{
	struct local_dlv *d = container_of(op, struct local_dlv, op);

	(void)flags;
	if (d->state == LD_CLEANUP_CLOSE || d->state == LD_CLEANUP_UNLINK) {
		on_cleanup(d, res);
		return;
	}
	if (d->job == NULL && d->state != LD_RENAME) {
		if (d->state == LD_OPEN && res >= 0)
			d->fd = res;
		else if (d->state == LD_CLOSE)
			d->fd = -1;
		fail(d, "aborted", -ECANCELED);
		return;
	}
	switch (d->state) {
	case LD_OPEN:
		if (res < 0)
			break;
		d->fd = res;
		write_next(d);
		return;
	case LD_WRITE:
		if (res <= 0)
			break;
		d->chunk_off += (size_t)res;
		d->foff += (uint64_t)res;
		write_next(d);
		return;
	case LD_FSYNC:
		if (res < 0)
			break;
		d->state = LD_CLOSE;
		ev_close(&d->lo->loop, &d->op, d->fd);
		d->fd = -1;
		return;
	case LD_CLOSE:
		if (res < 0)
			break;
		closed(d);
		return;
	case LD_RENAME:
		if (res < 0)
			break;
		renamed(d);
		return;
	default:
		panic("local delivery in state %d got a completion", d->state);
	}
	fail(d, d->state == LD_OPEN ? "open" : d->state == LD_WRITE ? "write" :
	    d->state == LD_FSYNC ? "fsync" : d->state == LD_CLOSE ? "close" :
	    "rename", res == 0 ? -EIO : res);
}

void local_dlv_synced(struct local_dlv *d, int res)
{
	char text[600];

	if (res < 0) {
		/* The file is in new/ but may not survive a crash: deferred,
		 * and delivered again (at least once). */
		fail_text(text, sizeof(text), "fsync new/", res);
		dlv_end(d, AGENT_DEFERRED, AGENT_DSN_FAILED, text);
		return;
	}
	dlv_end(d, AGENT_SENT, "2.0.0", "delivered to maildir");
}

int local_dlv_start(struct local *lo, struct local_job *j, size_t ri)
{
	struct local_dlv *d;
	int rc;

	if (check_rcpt(lo, j, ri))
		return 0;
	d = dlv_new(lo, j, ri);
	if (check_mbox(lo, j, ri, d)) {
		dlv_free(lo, d);
		return 0;
	}
	if ((rc = dlv_name(d, d->tmp, sizeof(d->tmp), "tmp", d->size, 0)) < 0) {
		char text[600];

		dlv_free(lo, d);
		fail_text(text, sizeof(text), "file name", rc);
		set(lo, j, ri, AGENT_DEFERRED, AGENT_DSN_FAILED, text);
		return 0;
	}
	d->next = lo->dlvs;
	if (lo->dlvs != NULL)
		lo->dlvs->prev = d;
	lo->dlvs = d;
	lo->ndlvs++;
	d->state = LD_OPEN;
	ev_openat(&lo->loop, &d->op, AT_FDCWD, d->tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return 1;
}

void local_dlv_abort_job(struct local *lo, struct local_job *j)
{
	for (struct local_dlv *d = lo->dlvs; d != NULL; d = d->next)
		if (d->job == j)
			d->job = NULL;
}

void local_dlv_free_all(struct local *lo)
{
	while (lo->dlvs != NULL) {
		struct local_dlv *d = lo->dlvs;

		lo->dlvs = d->next;
		if (d->fd >= 0)
			close(d->fd);
		dlv_free(lo, d);
	}
	lo->ndlvs = 0;
}
