/* smtpd_sasl: the SASL exchange of the AUTH command (RFC 4954) for the
 * PLAIN (RFC 4616) and LOGIN mechanisms, as a pure state machine: the AUTH
 * argument and each response line go in, a 334 challenge or the decoded
 * credentials (or a reply id) come out.  Strict: base64 per RFC 4648
 * (lib/base64), an authzid only if equal to the authcid, a user name of
 * printable ASCII.  No I/O, no allocation: unit-tested on its own.  The
 * password is wiped by smtpd_sasl_wipe once the caller has handed it on. */
#ifndef SMTPD_SASL_H
#define SMTPD_SASL_H
#include <stddef.h>

#include "lib/users.h"

/* RFC 4954 4: the AUTH command line and each response, CRLF included. */
#define SMTPD_SASL_LINE_MAX 12288
/* Decoded response: 3 bytes per 4 of the longest line. */
#define SMTPD_SASL_DECODED_MAX (SMTPD_SASL_LINE_MAX / 4 * 3)

enum smtpd_sasl_mech { SMTPD_SASL_NONE, SMTPD_SASL_PLAIN, SMTPD_SASL_LOGIN };

struct smtpd_sasl {
	enum smtpd_sasl_mech mech;
	int want_pass;			/* LOGIN: the user name is in */
	char user[USERS_ADDRESS_MAX + 1];
	char pass[SMTPD_SASL_DECODED_MAX + 1];
	size_t passlen;			/* may hold NULs (LOGIN) */
};

/* AUTH's argument arg[0..n) ("mechanism [initial-response]").  0 with
 * *challenge set: send "334 <challenge>" and feed the next line to
 * smtpd_sasl_step; 0 with *challenge NULL: the credentials are in x;
 * else a reply id (the exchange is over). */
int smtpd_sasl_start(struct smtpd_sasl *x, const char *arg, size_t n,
    const char **challenge);
/* One response line (CRLF removed); same results as smtpd_sasl_start. */
int smtpd_sasl_step(struct smtpd_sasl *x, const char *line, size_t n,
    const char **challenge);
/* The mechanism's name, for logs ("PLAIN"). */
const char *smtpd_sasl_name(const struct smtpd_sasl *x);
/* Forget the password (and everything else). */
void smtpd_sasl_wipe(struct smtpd_sasl *x);
#endif
