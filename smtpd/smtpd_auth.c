/* smtpd_auth: AUTH in the session; see smtpd_auth.h.  While a password
 * is checked the session is blocked (s->blocked: no input is taken, so a
 * pipelined MAIL waits for the verdict) and s->auth holds the exchange; if
 * the session ends first, smtpd_auth_abort tells the checker to forget
 * it, so a check that finishes later touches nothing of the session.
 * Passwords are wiped as soon as the checker has its copy, and never
 * logged; failures log the user name tried and the client. */
#include "smtpd/smtpd_auth.h"
#include "smtpd/smtpd_local.h"
#include "smtpd/smtpd_proto.h"
#include "smtpd/smtpd_reply.h"
#include "lib/aliases.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* TLS is up, or the loopback exception applies. */
static int auth_channel_ok(const struct smtpd_session *s)
{
	return s->tls || (s->conf->auth_plaintext_loopback && s->loopback);
}

int smtpd_auth_offered(const struct smtpd_session *s)
{
	return s->authck != NULL && s->auth_user == NULL &&
	    auth_channel_ok(s);
}

static int is_auth_line(const char *p, size_t n)
{
	return n >= 5 && strncasecmp(p, "AUTH ", 5) == 0;
}

size_t smtpd_auth_line_limit(const struct smtpd_session *s, const char *p,
    size_t n)
{
	size_t limit = s->conf->smtpd_line_limit;

	if ((s->auth != NULL || is_auth_line(p, n)) &&
	    limit < SMTPD_SASL_LINE_MAX)
		limit = SMTPD_SASL_LINE_MAX;
	return limit;
}

int smtpd_auth_too_long(struct smtpd_session *s, const char *p, size_t n)
{
	if (s->auth == NULL && !is_auth_line(p, n))
		return SMTPD_R_LINE_TOO_LONG;
	smtpd_auth_abort(s);
	return SMTPD_R_AUTH_TOO_LONG;
}

void smtpd_auth_abort(struct smtpd_session *s)
{
	struct smtpd_auth *a = s->auth;

	if (a == NULL)
		return;
	if (a->q.job != NULL) {
		s->authck->cancel(s->authck_ctx, &a->q);
		s->blocked = 0;
	}
	smtpd_sasl_wipe(&a->sasl);
	free(a);
	s->auth = NULL;
}

void smtpd_auth_reset(struct smtpd_session *s)
{
	smtpd_auth_abort(s);
	free(s->auth_user);
	s->auth_user = NULL;
	s->auth_method = NULL;
}

/* End the exchange with reply id. */
static void finish(struct smtpd_session *s, int id)
{
	smtpd_auth_abort(s);
	smtpd_proto_reply(s, id, NULL);
}

static void log_failed(struct smtpd_session *s, const char *why)
{
	log_info("authentication failed: client=[%s], sasl_method=%s, "
	    "sasl_username=%s%s", s->client_ip,
	    smtpd_sasl_name(&s->auth->sasl), s->auth->sasl.user, why);
}

static void authenticated(struct smtpd_session *s)
{
	struct smtpd_sasl *x = &s->auth->sasl;

	for (char *p = x->user; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	s->auth_user = xstrdup(x->user);
	s->auth_method = smtpd_sasl_name(x);
	log_info("client=[%s], sasl_method=%s, sasl_username=%s",
	    s->client_ip, s->auth_method, s->auth_user);
	finish(s, SMTPD_R_AUTH_OK);
}

/* The checker's verdict. */
static void check_done(struct smtpd_authq *q, int result)
{
	struct smtpd_auth *a = container_of(q, struct smtpd_auth, q);
	struct smtpd_session *s = a->s;

	q->job = NULL;
	s->blocked = 0;
	s->rearm = 1;
	if (result == SMTPD_AUTH_OK) {
		authenticated(s);
	} else if (result == SMTPD_AUTH_TEMP) {
		log_warn("authentication of %s from [%s]: users_file not "
		    "loaded", a->sasl.user, s->client_ip);
		finish(s, SMTPD_R_AUTH_TEMP);
	} else {
		log_failed(s, "");
		finish(s, SMTPD_R_AUTH_FAILED);
	}
	smtpd_proto_resume(s);
}

/* After smtpd_sasl_start/step: a challenge, a check, or the end. */
static void advance(struct smtpd_session *s, int rc, const char *challenge)
{
	struct smtpd_auth *a = s->auth;

	if (rc == SMTPD_R_AUTHZ_DENIED)
		log_failed(s, " (authorization identity not allowed)");
	if (rc != 0) {
		finish(s, rc);
		return;
	}
	if (challenge != NULL) {
		smtpd_proto_reply(s, SMTPD_R_AUTH_CHALLENGE, challenge);
		return;
	}
	a->q.done = check_done;
	s->blocked = 1;
	s->authck->check(s->authck_ctx, &a->q, s->client_ip, a->sasl.user,
	    a->sasl.pass, a->sasl.passlen);
	explicit_bzero(a->sasl.pass, sizeof(a->sasl.pass));
}

/* 0 if AUTH may start now, else the reply id. */
static int auth_allowed(struct smtpd_session *s)
{
	if (s->authck == NULL)
		return SMTPD_R_NOT_IMPLEMENTED;
	if (s->helo == NULL)
		return SMTPD_R_NEED_HELO;
	if (s->auth_user != NULL)
		return SMTPD_R_AUTH_ALREADY;
	if (s->txn != NULL)
		return SMTPD_R_AUTH_IN_TXN;
	if (!auth_channel_ok(s))	/* 538 where STARTTLS cannot help */
		return s->io->starttls != NULL ? SMTPD_R_AUTH_TLS :
		    SMTPD_R_AUTH_ENCRYPT;
	return 0;
}

void smtpd_auth_cmd(struct smtpd_session *s, const struct smtpd_cmd *c)
{
	const char *challenge;
	int rc;

	if ((rc = auth_allowed(s)) != 0) {
		smtpd_proto_reply(s, rc, NULL);
		return;
	}
	if (s->authck->blocked(s->authck_ctx, s->client_ip)) {
		log_info("authentication refused: client=[%s] (too many "
		    "failures)", s->client_ip);
		smtpd_proto_reply(s, SMTPD_R_AUTH_LOCKOUT, NULL);
		smtpd_proto_close(s);
		return;
	}
	s->auth = xcalloc(1, sizeof(*s->auth));
	s->auth->s = s;
	rc = smtpd_sasl_start(&s->auth->sasl, c->arg, c->arglen, &challenge);
	advance(s, rc, challenge);
}

void smtpd_auth_response(struct smtpd_session *s, const char *line,
    size_t len)
{
	const char *challenge;
	int rc = smtpd_sasl_step(&s->auth->sasl, line, len, &challenge);

	advance(s, rc, challenge);
}

struct owner_match {
	const char *user;
	int found;
};

static int owner_emit(void *ctx, const char *target)
{
	struct owner_match *m = ctx;

	if (strcasecmp(target, m->user) == 0)
		m->found = 1;
	return 0;
}

/* 1 if sender (local@domain text) belongs to s->auth_user: the same
 * address, or an alias of a local domain that expands to it. */
static int sender_owned(struct smtpd_session *s, const struct addr *a,
    const char *sender)
{
	struct owner_match m = { s->auth_user, 0 };
	char dom[ADDR_DOMAIN_MAX + 1];

	if (strcasecmp(sender, s->auth_user) == 0)
		return 1;
	addr_domain_lower(a, dom, sizeof(dom));
	if (s->local == NULL || !conf_is_local_domain(s->conf, dom))
		return 0;
	smtpd_local_refresh(s->local);
	if (s->local->aliases == NULL ||
	    !aliases_is_alias(s->local->aliases, sender))
		return 0;
	return aliases_expand(s->local->aliases, s->conf, sender, owner_emit,
	    &m) > 0 && m.found;
}

int smtpd_auth_mail(struct smtpd_session *s, const struct addr *a)
{
	char sender[ADDR_PATH_MAX + 8];

	if (s->auth_user == NULL)
		return s->port == SMTPD_PORT_SMTP ? 0 : SMTPD_R_AUTH_REQUIRED;
	if (!s->conf->smtpd_sender_login_match || a->is_null)
		return 0;	/* <> passes, as with Postfix's rule */
	addr_format(a, sender, sizeof(sender));
	return sender_owned(s, a, sender) ? 0 : SMTPD_R_SENDER_NOT_OWNED;
}
