/* smtpd_cmd: the SMTP command-line parser.  Pure functions over one line
 * (CRLF already removed): the verb, then MAIL/RCPT paths with their ESMTP
 * parameters and BDAT's chunk size.  Strict and bounded; no I/O and no
 * allocation, so it is unit-tested and fuzzed on its own.  Errors are
 * smtpd_reply ids. */
#ifndef SMTPD_CMD_H
#define SMTPD_CMD_H
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "smtpd/smtpd_reply.h"

#define SMTPD_VERB_MAX 8	/* longest verb we know, STARTTLS */
#define SMTPD_SIZE_HUGE UINT64_MAX	/* SIZE= too large to represent */

enum smtpd_verb {
	SMTPD_V_UNKNOWN = 0,
	SMTPD_V_HELO,
	SMTPD_V_EHLO,
	SMTPD_V_MAIL,
	SMTPD_V_RCPT,
	SMTPD_V_DATA,
	SMTPD_V_BDAT,
	SMTPD_V_RSET,
	SMTPD_V_NOOP,
	SMTPD_V_QUIT,
	SMTPD_V_VRFY,
	SMTPD_V_EXPN,
	SMTPD_V_HELP,
	SMTPD_V_STARTTLS,
	SMTPD_V_AUTH,
	SMTPD_V_ETRN,
	SMTPD_V_TURN,
	SMTPD_V_COUNT
};

struct smtpd_cmd {
	enum smtpd_verb verb;
	const char *arg;	/* after the verb and its spaces; no NUL */
	size_t arglen;		/* trailing spaces removed */
};

enum smtpd_body {
	SMTPD_BODY_NONE = 0,	/* not declared */
	SMTPD_BODY_7BIT,
	SMTPD_BODY_8BITMIME,
};

struct smtpd_mail {
	struct addr addr;
	uint64_t size;		/* SIZE=, 0 if absent; SMTPD_SIZE_HUGE: vast */
	int has_size;
	enum smtpd_body body;
	int smtputf8;
	int had_route;		/* a source route was given (and discarded) */
};

struct smtpd_rcpt {
	struct addr addr;
	int had_route;
};

/* Split line[0..len) into verb and argument.  0, or SMTPD_R_NUL when the
 * line holds a NUL byte; an unknown verb is SMTPD_V_UNKNOWN, not an error. */
int smtpd_cmd_parse(const char *line, size_t len, struct smtpd_cmd *c);
/* The verb's name ("MAIL"), for logs. */
const char *smtpd_cmd_name(enum smtpd_verb v);
/* Parse "FROM:<path> [params]"; esmtp: the session began with EHLO
 * (parameters are allowed).  0 or a reply id. */
int smtpd_cmd_mail(const char *arg, size_t len, int esmtp,
    struct smtpd_mail *m);
/* Parse "TO:<path>"; utf8: the transaction has SMTPUTF8.  0 or a reply id. */
int smtpd_cmd_rcpt(const char *arg, size_t len, int utf8,
    struct smtpd_rcpt *r);
/* Parse "count [LAST]".  0 or a reply id. */
int smtpd_cmd_bdat(const char *arg, size_t len, uint64_t *count, int *last);
/* Validate an EHLO/HELO argument: one word of printable ASCII (or UTF-8).
 * 0 or a reply id. */
int smtpd_cmd_helo(const char *arg, size_t len, int esmtp);
#endif
