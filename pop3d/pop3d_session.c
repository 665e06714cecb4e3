/* pop3d_session: a POP3 connection's command lines and its AUTHORIZATION
 * state (USER/PASS, AUTH PLAIN, CAPA, QUIT).  Lines are handled in order;
 * a command that must wait (a password check on a helper thread, the
 * failed-login delay, a RETR, the UPDATE) sets busy and the following
 * lines stay buffered until pop3d_session_resume.  Passwords are never
 * logged and are wiped from the job once checked. */
#include "pop3d/pop3d.h"
#include "lib/base64.h"
#include "lib/netio_tls.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static void login_done(struct pop3d_job *j);
static void login_failed(struct pop3d_conn *c);

void pop3d_reply(struct pop3d_conn *c, enum pop3d_reply r)
{
	const char *t = pop3d_reply_text(r);

	netio_write(&c->io, t, strlen(t));
}

void pop3d_reply_err(struct pop3d_conn *c, enum pop3d_reply r)
{
	pop3d_reply(c, r);
	if (++c->errors >= POP3D_ERROR_LIMIT) {
		pop3d_reply(c, POP3D_R_TOO_MANY_ERRORS);
		pop3d_session_end(c, "too many errors");
		pop3d_session_close(c);
	}
}

static void session_init(struct pop3d_conn *c)
{
	buf_init(&c->in, 0);
	buf_init(&c->scratch, 0);
	pop3d_mbox_init(&c->mb);
	c->rfd = -1;
	c->deadline = netio_now_ms() + (uint64_t)c->sv->conf->pop3_timeout *
	    1000;
}

void pop3d_session_start(struct pop3d_conn *c)
{
	session_init(c);
	pop3d_reply(c, POP3D_R_GREETING);
}

void pop3d_session_refuse(struct pop3d_conn *c, enum pop3d_reply r)
{
	session_init(c);
	if (c->tls) {
		c->refuse = (int)r;
		c->deadline = netio_now_ms() + POP3D_REFUSE_TLS_MS;
		return;
	}
	pop3d_reply(c, r);
	pop3d_session_close(c);
}

int pop3d_session_secured(struct pop3d_conn *c)
{
	if (c->refuse == 0 || c->state == POP3D_S_CLOSED)
		return 0;
	pop3d_reply(c, (enum pop3d_reply)c->refuse);
	pop3d_session_close(c);
	return 1;
}

void pop3d_session_close(struct pop3d_conn *c)
{
	c->state = POP3D_S_CLOSED;
	c->busy = 0;
	buf_free(&c->in);
	if (c->timer_busy)
		ev_cancel_op(&c->sv->srv.loop, &c->timer_op);
	netio_close(&c->io);
}

void pop3d_session_end(struct pop3d_conn *c, const char *why)
{
	if (c->state == POP3D_S_TRANS && !c->updating)
		log_info("logout user=<%s> client=%s retrieved=%u deleted=0 "
		    "(%s: nothing deleted)", c->user, c->ip, c->retrieved, why);
	c->state = POP3D_S_CLOSED;
	if (!c->job_busy)
		pop3d_mbox_close(&c->mb);
}

void pop3d_conn_release(struct pop3d_conn *c)
{
	struct pop3d_server *sv = c->sv;

	if (!c->io_done || c->job_busy || c->timer_busy || c->read_busy)
		return;
	if (c->rfd >= 0)
		close(c->rfd);
	pop3d_mbox_close(&c->mb);
	buf_free(&c->in);
	buf_free(&c->scratch);
	free(c->rbuf);
	netsrv_conn_del(&sv->srv, &c->node);
	free(c);
}

/* A user name for logs and the job: printable, bounded. */
static int set_user(struct pop3d_conn *c, const char *p, size_t n)
{
	if (n == 0 || n > POP3D_USER_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return -1;
	memcpy(c->user, p, n);
	c->user[n] = '\0';
	return 0;
}

static uint64_t now_s(void)
{
	return netio_now_ms() / 1000;
}

/* Check user/password on a helper thread; the reply comes later. */
static void start_login(struct pop3d_conn *c, const char *pass, size_t n)
{
	struct pop3d_server *sv = c->sv;

	if (authfail_blocked(&sv->fails, c->ip, now_s())) {
		log_info("login refused user=<%s> client=%s (too many "
		    "failures)", c->user, c->ip);
		c->user[0] = '\0';
		pop3d_reply_err(c, POP3D_R_AUTH_LOCKOUT);
		return;
	}
	c->busy = 1;
	if (n > POP3D_PASS_MAX || memchr(pass, '\0', n) != NULL) {
		login_failed(c);	/* never cut a password short */
		return;
	}
	memset(&c->job, 0, sizeof(c->job));
	c->job.kind = POP3D_JOB_LOGIN;
	memcpy(c->job.user, c->user, sizeof(c->job.user));
	memcpy(c->job.pass, pass, n);
	c->job.mb = &c->mb;
	c->job.done = login_done;
	c->job_busy = 1;
	pop3d_workers_submit(&sv->workers, &c->job);
}

static void on_fail_delay(struct ev_op *op, int res, unsigned flags)
{
	struct pop3d_conn *c = container_of(op, struct pop3d_conn, timer_op);

	(void)res;
	(void)flags;
	c->timer_busy = 0;
	if (c->state == POP3D_S_CLOSED) {
		pop3d_conn_release(c);
		return;
	}
	c->busy = 0;
	pop3d_reply_err(c, POP3D_R_AUTH_FAILED);
	pop3d_session_resume(c);
}

static void login_failed(struct pop3d_conn *c)
{
	unsigned delay = c->sv->conf->pop3_auth_fail_delay;

	log_info("login failed user=<%s> client=%s", c->user, c->ip);
	authfail_record(&c->sv->fails, c->ip, now_s());
	c->user[0] = '\0';
	if (delay == 0) {
		c->busy = 0;
		pop3d_reply_err(c, POP3D_R_AUTH_FAILED);
		pop3d_session_resume(c);
		return;
	}
	c->timer_busy = 1;
	c->timer_op.fn = on_fail_delay;
	ev_timeout(&c->sv->srv.loop, &c->timer_op, &c->timer_ts, delay * 1000);
}

static void login_done(struct pop3d_job *j)
{
	struct pop3d_conn *c = container_of(j, struct pop3d_conn, job);

	c->job_busy = 0;
	if (c->state == POP3D_S_CLOSED) {
		pop3d_mbox_close(&c->mb);	/* never used: no UPDATE */
		pop3d_conn_release(c);
		return;
	}
	if (!j->ok) {
		login_failed(c);
		return;
	}
	c->busy = 0;
	if (j->rc < 0) {
		if (j->rc == -EWOULDBLOCK)
			log_info("login user=<%s> client=%s: mailbox in use",
			    c->user, c->ip);
		else
			log_warn("login user=<%s> client=%s: mailbox: %s",
			    c->user, c->ip, strerror(-j->rc));
		c->user[0] = '\0';
		pop3d_reply(c, j->rc == -EWOULDBLOCK ? POP3D_R_IN_USE :
		    POP3D_R_MBOX_TEMP);
	} else {
		c->state = POP3D_S_TRANS;
		log_info("login user=<%s> client=%s messages=%zu bytes=%llu",
		    c->user, c->ip, c->mb.n, (unsigned long long)c->mb.total);
		pop3d_reply(c, POP3D_R_LOGGED_IN);
	}
	pop3d_session_resume(c);
}

/* The AUTH PLAIN response (base64 of authzid NUL authcid NUL passwd). */
static void sasl_plain(struct pop3d_conn *c, const char *p, size_t n)
{
	char dec[POP3D_SASL_LINE_MAX];
	const char *user, *pass, *nul1, *nul2;
	long len;

	c->sasl = 0;
	if (n == 1 && p[0] == '*') {
		pop3d_reply_err(c, POP3D_R_SASL_CANCEL);
		return;
	}
	if (n == 1 && p[0] == '=')
		n = 0;
	len = base64_decode(p, n, dec, sizeof(dec));
	nul1 = len > 0 ? memchr(dec, '\0', (size_t)len) : NULL;
	nul2 = nul1 ? memchr(nul1 + 1, '\0', (size_t)(dec + len - nul1 - 1))
	    : NULL;
	if (nul2 == NULL || memchr(nul2 + 1, '\0',
	    (size_t)(dec + len - nul2 - 1)) != NULL) {
		explicit_bzero(dec, sizeof(dec));
		pop3d_reply_err(c, POP3D_R_SASL_BAD);
		return;
	}
	user = nul1 + 1;
	pass = nul2 + 1;
	if ((nul1 != dec && ((size_t)(nul1 - dec) != (size_t)(nul2 - user) ||
	    memcmp(dec, user, (size_t)(nul1 - dec)) != 0)) ||
	    set_user(c, user, (size_t)(nul2 - user)) < 0) {
		explicit_bzero(dec, sizeof(dec));
		pop3d_reply_err(c, POP3D_R_SASL_BAD);
		return;
	}
	start_login(c, pass, (size_t)(dec + len - pass));
	explicit_bzero(dec, sizeof(dec));
}

static void cmd_auth(struct pop3d_conn *c, const struct pop3d_cmd *cmd)
{
	const char *sp;
	size_t mlen;

	if (cmd->arg == NULL) {
		pop3d_reply(c, POP3D_R_AUTH_LIST);
		return;
	}
	if (!pop3d_may_login(c)) {
		pop3d_reply_err(c, POP3D_R_PLAINTEXT);
		return;
	}
	sp = memchr(cmd->arg, ' ', cmd->arglen);
	mlen = sp ? (size_t)(sp - cmd->arg) : cmd->arglen;
	if (mlen != 5 || strncasecmp(cmd->arg, "PLAIN", 5) != 0) {
		pop3d_reply_err(c, POP3D_R_SASL_MECH);
		return;
	}
	if (sp == NULL) {
		c->sasl = 1;
		pop3d_reply(c, POP3D_R_SASL_CONT);
		return;
	}
	sasl_plain(c, sp + 1, cmd->arglen - mlen - 1);
}

int pop3d_may_login(const struct pop3d_conn *c)
{
	return c->tls ||
	    (c->loopback && c->sv->conf->pop3_plaintext_loopback);
}

/* STLS (RFC 2595): +OK in the clear, then TLS below the session.  Lines
 * the client sent after STLS came before the handshake, in the clear:
 * they are thrown away unread (pop3d_session_run), never executed. */
static void cmd_stls(struct pop3d_conn *c, const struct pop3d_cmd *cmd)
{
	if (cmd->arg != NULL) {
		pop3d_reply_err(c, POP3D_R_SYNTAX);
	} else if (c->tls) {
		pop3d_reply_err(c, POP3D_R_TLS_ACTIVE);
	} else if (c->sv->tls_ctx == NULL) {
		pop3d_reply_err(c, POP3D_R_NO_STLS);
	} else {
		pop3d_reply(c, POP3D_R_STLS_GO);
		if (netio_tls_server(&c->io, c->sv->tls_ctx) < 0) {
			log_warn("STLS from [%s]: no TLS session", c->ip);
			pop3d_session_close(c);
			return;
		}
		c->tls = 1;
		c->tls_restart = 1;
	}
}

/* AUTHORIZATION state. */
static void auth_cmd(struct pop3d_conn *c, const struct pop3d_cmd *cmd)
{
	switch (cmd->verb) {
	case POP3D_V_USER:
		if (!pop3d_may_login(c))
			pop3d_reply_err(c, POP3D_R_PLAINTEXT);
		else if (cmd->arg == NULL ||
		    set_user(c, cmd->arg, cmd->arglen) < 0)
			pop3d_reply_err(c, POP3D_R_BAD_USER);
		else
			pop3d_reply(c, POP3D_R_USER_OK);
		break;
	case POP3D_V_PASS:
		if (!pop3d_may_login(c))
			pop3d_reply_err(c, POP3D_R_PLAINTEXT);
		else if (c->user[0] == '\0')
			pop3d_reply_err(c, POP3D_R_USER_FIRST);
		else
			start_login(c, cmd->arg ? cmd->arg : "",
			    cmd->arg ? cmd->arglen : 0);
		break;
	case POP3D_V_AUTH:
		cmd_auth(c, cmd);
		break;
	case POP3D_V_APOP:
		pop3d_reply_err(c, POP3D_R_NO_APOP);
		break;
	case POP3D_V_STLS:
		cmd_stls(c, cmd);
		break;
	case POP3D_V_UNKNOWN:
		pop3d_reply_err(c, POP3D_R_UNKNOWN);
		break;
	default:
		pop3d_reply_err(c, POP3D_R_NOT_LOGGED_IN);
		break;
	}
}

static void handle_line(struct pop3d_conn *c, const char *line, size_t n)
{
	struct pop3d_cmd cmd;

	if (c->sasl) {
		if (n > 0 && line[n - 1] == '\r')
			n--;
		sasl_plain(c, line, n);
		return;
	}
	pop3d_cmd_parse(line, n, &cmd);
	if (cmd.verb == POP3D_V_CAPA && cmd.arg == NULL) {
		pop3d_capa(c);
	} else if (cmd.verb == POP3D_V_QUIT && cmd.arg == NULL &&
	    c->state == POP3D_S_AUTH) {
		pop3d_reply(c, POP3D_R_BYE);
		pop3d_session_close(c);
	} else if (c->state == POP3D_S_AUTH) {
		auth_cmd(c, &cmd);
	} else {
		pop3d_trans_cmd(c, &cmd);
	}
}

/* One line (or the rest of an overlong one) from in at *off. */
static int next_line(struct pop3d_conn *c, size_t *off)
{
	size_t max = c->sasl ? POP3D_SASL_LINE_MAX : POP3D_LINE_MAX;
	const char *p = c->in.data + *off;
	size_t avail = c->in.len - *off;
	const char *lf = memchr(p, '\n', avail);
	size_t n = lf ? (size_t)(lf - p) : avail;

	if (lf == NULL) {
		if (avail >= max) {
			c->discarding = 1;
			*off = c->in.len;
		}
		return 0;
	}
	*off += n + 1;
	if (c->discarding || n + 1 > max) {
		c->discarding = 0;
		c->sasl = 0;
		pop3d_reply_err(c, POP3D_R_LINE_TOO_LONG);
		return 1;
	}
	c->deadline = netio_now_ms() +
	    (uint64_t)c->sv->conf->pop3_timeout * 1000;
	handle_line(c, p, n);
	return 1;
}

void pop3d_session_run(struct pop3d_conn *c)
{
	size_t off = 0;

	while (!c->busy && c->state != POP3D_S_CLOSED && !c->tls_restart &&
	    off < c->in.len)
		if (!next_line(c, &off))
			break;
	if (c->state == POP3D_S_CLOSED)
		return;
	buf_consume(&c->in, off);
	if (c->tls_restart) {
		c->tls_restart = 0;
		if (c->in.len > 0)
			log_warn("discarded %zu bytes pipelined after STLS "
			    "from [%s]", c->in.len, c->ip);
		c->in.len = 0;
	}
	if (c->in.len == 0)
		buf_free(&c->in);
	if (c->paused && c->in.len < POP3D_IN_HIGH / 2) {
		c->paused = 0;
		netio_pause(&c->io, NETIO_PAUSE_PROTO, 0);
	}
}

void pop3d_session_resume(struct pop3d_conn *c)
{
	if (!c->busy && c->state != POP3D_S_CLOSED)
		pop3d_session_run(c);
}

void pop3d_session_input(struct pop3d_conn *c, const char *p, size_t n)
{
	if (c->state == POP3D_S_CLOSED)
		return;
	if (c->discarding && c->in.len == 0) {
		const char *lf = memchr(p, '\n', n);

		if (lf == NULL)
			return;		/* still inside the long line */
		n -= (size_t)(lf - p);
		p = lf;
	}
	if (buf_append(&c->in, p, n) < 0)
		panic("input buffer");
	if (c->in.len > POP3D_IN_HIGH && !c->paused) {
		c->paused = 1;
		netio_pause(&c->io, NETIO_PAUSE_PROTO, 1);
	}
	pop3d_session_run(c);
}
