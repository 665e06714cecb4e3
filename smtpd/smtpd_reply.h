/* smtpd_reply: every SMTP reply mta-smtpd sends, in one table (STYLE.md).
 * A reply is a basic code, an enhanced status code (RFC 3463) and a text;
 * a '$' in the text is replaced by one argument (host name, queue ID,
 * address).  The session state machine refers to replies only by id. */
#ifndef SMTPD_REPLY_H
#define SMTPD_REPLY_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define SMTPD_REPLY_MAX 1024	/* one formatted reply, CRLF included */

enum smtpd_reply_id {
	SMTPD_R_NONE = 0,	/* success: no reply chosen */
	SMTPD_R_GREETING,
	SMTPD_R_HELO,
	SMTPD_R_BYE,
	SMTPD_R_OK,
	SMTPD_R_MAIL_OK,
	SMTPD_R_RCPT_OK,
	SMTPD_R_QUEUED,
	SMTPD_R_BDAT_OK,
	SMTPD_R_VRFY,
	SMTPD_R_HELP,
	SMTPD_R_DATA_GO,
	SMTPD_R_TIMEOUT,
	SMTPD_R_TOO_MANY_ERRORS,
	SMTPD_R_SHUTDOWN,
	SMTPD_R_TOO_MANY_CONN,
	SMTPD_R_TOO_MANY_CONN_ADDR,
	SMTPD_R_QW_DOWN,
	SMTPD_R_TEMPFAIL,
	SMTPD_R_TOO_MANY_RCPT,
	SMTPD_R_LINE_TOO_LONG,
	SMTPD_R_NUL,
	SMTPD_R_UNKNOWN,
	SMTPD_R_SYNTAX_HELO,
	SMTPD_R_SYNTAX_EHLO,
	SMTPD_R_SYNTAX_MAIL,
	SMTPD_R_SYNTAX_RCPT,
	SMTPD_R_SYNTAX_DATA,
	SMTPD_R_SYNTAX_BDAT,
	SMTPD_R_SYNTAX_RSET,
	SMTPD_R_SYNTAX_QUIT,
	SMTPD_R_SYNTAX_VRFY,
	SMTPD_R_BAD_SENDER,
	SMTPD_R_BAD_RCPT,
	SMTPD_R_ADDR_TOO_LONG,
	SMTPD_R_ADDR_UTF8,
	SMTPD_R_SIZE_SYNTAX,
	SMTPD_R_BODY_SYNTAX,
	SMTPD_R_BODY_UNSUPPORTED,
	SMTPD_R_PARAM_DUP,
	SMTPD_R_PARAM_UNKNOWN,
	SMTPD_R_PARAM_SYNTAX,
	SMTPD_R_NOT_IMPLEMENTED,
	SMTPD_R_NEED_HELO,
	SMTPD_R_NESTED_MAIL,
	SMTPD_R_NEED_MAIL,
	SMTPD_R_NEED_RCPT,
	SMTPD_R_NO_VALID_RCPT,
	SMTPD_R_MIXED_DATA_BDAT,
	SMTPD_R_BDAT_IN_PROGRESS,
	SMTPD_R_TOO_BIG,
	SMTPD_R_BARE_LF,
	SMTPD_R_RELAY,
	SMTPD_R_REJECTED,
	SMTPD_R_UNKNOWN_USER,
	SMTPD_R_LOCAL_CONFIG,
	SMTPD_R_TLS_READY,
	SMTPD_R_TLS_UNAVAILABLE,
	SMTPD_R_TLS_ACTIVE,
	SMTPD_R_SYNTAX_STARTTLS,
	SMTPD_R_AUTH_CHALLENGE,
	SMTPD_R_AUTH_OK,
	SMTPD_R_AUTH_FAILED,
	SMTPD_R_AUTHZ_DENIED,
	SMTPD_R_AUTH_TLS,
	SMTPD_R_AUTH_ENCRYPT,
	SMTPD_R_AUTH_REQUIRED,
	SMTPD_R_AUTH_ALREADY,
	SMTPD_R_AUTH_IN_TXN,
	SMTPD_R_AUTH_MECH,
	SMTPD_R_SYNTAX_AUTH,
	SMTPD_R_AUTH_CANCEL,
	SMTPD_R_AUTH_DECODE,
	SMTPD_R_AUTH_TOO_LONG,
	SMTPD_R_AUTH_TEMP,
	SMTPD_R_AUTH_LOCKOUT,
	SMTPD_R_SENDER_NOT_OWNED,
	SMTPD_R_COUNT
};

/* The three-digit code of a reply (e.g. 250). */
unsigned smtpd_reply_code(enum smtpd_reply_id id);
/* 1 if the reply counts toward smtpd_error_limit. */
int smtpd_reply_is_error(enum smtpd_reply_id id);
/* Format id (with arg for '$', may be NULL) and CRLF into dst[cap];
 * returns the length.  Overlong arguments are cut, never overflow. */
size_t smtpd_reply_format(char *dst, size_t cap, enum smtpd_reply_id id,
    const char *arg);
/* The multi-line EHLO reply (host name and keywords) appended to out. */
/* EHLO extensions that depend on the session (bits of ext). */
#define SMTPD_EHLO_STARTTLS 0x1	/* TLS is available and not yet up */
#define SMTPD_EHLO_AUTH 0x2	/* AUTH PLAIN LOGIN may be used now */
void smtpd_reply_ehlo(struct buf *out, const char *host, uint64_t size_limit,
    unsigned ext);
#endif
