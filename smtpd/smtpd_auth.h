/* smtpd_auth: the AUTH command in the session (RFC 4954) and what being
 * authenticated changes: EHLO offers AUTH PLAIN LOGIN only when AUTH may be
 * used now (TLS is up, or auth_plaintext_loopback and a loopback client);
 * the SASL exchange (smtpd_sasl) reads its response lines through the
 * session; the password check goes to s->authck and the session stops
 * reading until the verdict; on the submission and smtps ports MAIL needs
 * AUTH, and an authenticated client's MAIL FROM must be its own address
 * (or an alias of it) under smtpd_sender_login_match.  Called by
 * smtpd_proto only. */
#ifndef SMTPD_AUTH_H
#define SMTPD_AUTH_H
#include <stddef.h>

#include "smtpd/smtpd.h"
#include "smtpd/smtpd_sasl.h"

/* An exchange in progress: allocated at AUTH, freed at its end. */
struct smtpd_auth {
	struct smtpd_session *s;
	struct smtpd_sasl sasl;
	struct smtpd_authq q;
};

/* 1 if EHLO should offer AUTH now. */
int smtpd_auth_offered(const struct smtpd_session *s);
/* The limit for the command line starting at p[0..n): RFC 4954's 12288
 * for AUTH and its responses, else smtpd_line_limit. */
size_t smtpd_auth_line_limit(const struct smtpd_session *s, const char *p,
    size_t n);
/* An over-long line: the reply id (ends an exchange in progress). */
int smtpd_auth_too_long(struct smtpd_session *s, const char *p,
    size_t n);
/* The AUTH command. */
void smtpd_auth_cmd(struct smtpd_session *s, const struct smtpd_cmd *c);
/* A response line during the exchange (s->auth set, CRLF removed). */
void smtpd_auth_response(struct smtpd_session *s, const char *line,
    size_t len);
/* MAIL FROM with sender a: 0, or a reply id (its argument is
 * s->auth_user). */
int smtpd_auth_mail(struct smtpd_session *s, const struct addr *a);
/* End an exchange (and forget a check in flight) without a reply. */
void smtpd_auth_abort(struct smtpd_session *s);
/* Forget the authentication too (STARTTLS, the end of the session). */
void smtpd_auth_reset(struct smtpd_session *s);
#endif
