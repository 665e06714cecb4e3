/* smtpd_reply: the one table of reply texts; see smtpd_reply.h.  Texts
 * follow Postfix where clients and operators know them, INTERFACE.md where
 * it fixes them.  "Error" replies are the ones a misbehaving client earns;
 * they count toward smtpd_error_limit (452 too many recipients does not:
 * RFC 5321 clients are expected to send the rest in a later transaction). */
#include "smtpd/smtpd_reply.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <inttypes.h>

struct smtpd_reply {
	unsigned code;
	int error;
	const char *text;	/* code, enhanced code and text, '$' = arg */
};

static const struct smtpd_reply smtpd_replies[SMTPD_R_COUNT] = {
	[SMTPD_R_NONE] = { 250, 0, "250 2.0.0 Ok" },
	[SMTPD_R_GREETING] = { 220, 0, "220 $ ESMTP" },
	[SMTPD_R_HELO] = { 250, 0, "250 $" },
	[SMTPD_R_BYE] = { 221, 0, "221 2.0.0 Bye" },
	[SMTPD_R_OK] = { 250, 0, "250 2.0.0 Ok" },
	[SMTPD_R_MAIL_OK] = { 250, 0, "250 2.1.0 Ok" },
	[SMTPD_R_RCPT_OK] = { 250, 0, "250 2.1.5 Ok" },
	[SMTPD_R_QUEUED] = { 250, 0, "250 2.0.0 Ok: queued as $" },
	[SMTPD_R_BDAT_OK] = { 250, 0, "250 2.0.0 Ok: $ bytes" },
	[SMTPD_R_VRFY] = { 252, 0,
	    "252 2.0.0 Send some mail, I'll try my best" },
	[SMTPD_R_HELP] = { 214, 0, "214 2.0.0 Commands: HELO EHLO MAIL RCPT "
	    "DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH" },
	[SMTPD_R_DATA_GO] = { 354, 0, "354 End data with <CR><LF>.<CR><LF>" },
	[SMTPD_R_TIMEOUT] = { 421, 0, "421 4.4.2 $ Error: timeout exceeded" },
	[SMTPD_R_TOO_MANY_ERRORS] = { 421, 0, "421 4.7.0 Too many errors" },
	[SMTPD_R_SHUTDOWN] = { 421, 0, "421 4.3.2 Service shutting down" },
	[SMTPD_R_TOO_MANY_CONN] = { 421, 0, "421 4.7.0 $ Too many connections" },
	[SMTPD_R_TOO_MANY_CONN_ADDR] = { 421, 0,
	    "421 4.7.0 $ Too many connections from your address" },
	[SMTPD_R_QW_DOWN] = { 451, 0,
	    "451 4.3.0 Error: queue unavailable, try again later" },
	[SMTPD_R_TEMPFAIL] = { 452, 0,
	    "452 4.3.1 Insufficient system storage" },
	[SMTPD_R_TOO_MANY_RCPT] = { 452, 0, "452 4.5.3 Too many recipients" },
	[SMTPD_R_LINE_TOO_LONG] = { 500, 1, "500 5.5.0 Line too long" },
	[SMTPD_R_NUL] = { 500, 1, "500 5.5.2 Error: NUL character in command" },
	[SMTPD_R_UNKNOWN] = { 500, 1,
	    "500 5.5.2 Error: command not recognized" },
	[SMTPD_R_SYNTAX_HELO] = { 501, 1, "501 5.5.4 Syntax: HELO hostname" },
	[SMTPD_R_SYNTAX_EHLO] = { 501, 1, "501 5.5.4 Syntax: EHLO hostname" },
	[SMTPD_R_SYNTAX_MAIL] = { 501, 1,
	    "501 5.5.4 Syntax: MAIL FROM:<address>" },
	[SMTPD_R_SYNTAX_RCPT] = { 501, 1,
	    "501 5.5.4 Syntax: RCPT TO:<address>" },
	[SMTPD_R_SYNTAX_DATA] = { 501, 1, "501 5.5.4 Syntax: DATA" },
	[SMTPD_R_SYNTAX_BDAT] = { 501, 1,
	    "501 5.5.4 Syntax: BDAT count [LAST]" },
	[SMTPD_R_SYNTAX_RSET] = { 501, 1, "501 5.5.4 Syntax: RSET" },
	[SMTPD_R_SYNTAX_QUIT] = { 501, 1, "501 5.5.4 Syntax: QUIT" },
	[SMTPD_R_SYNTAX_VRFY] = { 501, 1, "501 5.5.4 Syntax: VRFY address" },
	[SMTPD_R_BAD_SENDER] = { 501, 1,
	    "501 5.1.7 Bad sender address syntax" },
	[SMTPD_R_BAD_RCPT] = { 501, 1,
	    "501 5.1.3 Bad recipient address syntax" },
	[SMTPD_R_ADDR_TOO_LONG] = { 501, 1, "501 5.1.3 Address too long" },
	[SMTPD_R_ADDR_UTF8] = { 553, 1,
	    "553 5.6.7 Non-ASCII address requires SMTPUTF8" },
	[SMTPD_R_SIZE_SYNTAX] = { 501, 1,
	    "501 5.5.4 Bad SIZE parameter syntax" },
	[SMTPD_R_BODY_SYNTAX] = { 501, 1,
	    "501 5.5.4 Bad BODY parameter syntax" },
	[SMTPD_R_BODY_UNSUPPORTED] = { 555, 1,
	    "555 5.5.4 Unsupported BODY type" },
	[SMTPD_R_PARAM_DUP] = { 501, 1, "501 5.5.4 Duplicate parameter" },
	[SMTPD_R_PARAM_UNKNOWN] = { 555, 1, "555 5.5.4 Unsupported option" },
	[SMTPD_R_PARAM_SYNTAX] = { 501, 1, "501 5.5.4 Bad parameter syntax" },
	[SMTPD_R_NOT_IMPLEMENTED] = { 502, 1,
	    "502 5.5.1 Error: command not implemented" },
	[SMTPD_R_NEED_HELO] = { 503, 1,
	    "503 5.5.1 Error: send HELO/EHLO first" },
	[SMTPD_R_NESTED_MAIL] = { 503, 1,
	    "503 5.5.1 Error: nested MAIL command" },
	[SMTPD_R_NEED_MAIL] = { 503, 1, "503 5.5.1 Error: need MAIL command" },
	[SMTPD_R_NEED_RCPT] = { 503, 1, "503 5.5.1 Error: need RCPT command" },
	[SMTPD_R_NO_VALID_RCPT] = { 554, 1,
	    "554 5.5.1 Error: no valid recipients" },
	[SMTPD_R_MIXED_DATA_BDAT] = { 503, 1,
	    "503 5.5.1 Error: DATA and BDAT in one transaction" },
	[SMTPD_R_BDAT_IN_PROGRESS] = { 503, 1,
	    "503 5.5.1 Error: BDAT transfer in progress" },
	[SMTPD_R_TOO_BIG] = { 552, 1,
	    "552 5.3.4 Message size exceeds fixed limit" },
	[SMTPD_R_BARE_LF] = { 550, 1,
	    "550 5.6.11 Error: bare LF/CR not allowed" },
	[SMTPD_R_RELAY] = { 554, 1, "554 5.7.1 <$>: Relay access denied" },
	[SMTPD_R_REJECTED] = { 554, 1, "554 5.3.0 Error: message rejected" },
	[SMTPD_R_UNKNOWN_USER] = { 550, 1, "550 5.1.1 <$>: Recipient address "
	    "rejected: User unknown in local recipient table" },
	[SMTPD_R_LOCAL_CONFIG] = { 451, 0, "451 4.3.0 <$>: Temporary lookup "
	    "failure: local configuration error" },
	[SMTPD_R_TLS_READY] = { 220, 0, "220 2.0.0 Ready to start TLS" },
	[SMTPD_R_TLS_UNAVAILABLE] = { 454, 1,
	    "454 4.7.0 TLS not available due to local problem" },
	[SMTPD_R_TLS_ACTIVE] = { 503, 1, "503 5.5.1 Error: TLS already active" },
	[SMTPD_R_SYNTAX_STARTTLS] = { 501, 1, "501 5.5.4 Syntax: STARTTLS" },
	/* AUTH: RFC 4954 4 and 6 (texts as there, or Postfix's). */
	[SMTPD_R_AUTH_CHALLENGE] = { 334, 0, "334 $" },
	[SMTPD_R_AUTH_OK] = { 235, 0, "235 2.7.0 Authentication successful" },
	[SMTPD_R_AUTH_FAILED] = { 535, 1,
	    "535 5.7.8 Authentication credentials invalid" },
	[SMTPD_R_AUTHZ_DENIED] = { 535, 1,
	    "535 5.7.8 Authentication credentials invalid" },
	[SMTPD_R_AUTH_TLS] = { 530, 1,
	    "530 5.7.0 Must issue a STARTTLS command first" },
	[SMTPD_R_AUTH_ENCRYPT] = { 538, 1, "538 5.7.11 Encryption required "
	    "for requested authentication mechanism" },
	[SMTPD_R_AUTH_REQUIRED] = { 530, 1,
	    "530 5.7.0 Authentication required" },
	[SMTPD_R_AUTH_ALREADY] = { 503, 1,
	    "503 5.5.1 Error: already authenticated" },
	[SMTPD_R_AUTH_IN_TXN] = { 503, 1,
	    "503 5.5.1 Error: MAIL transaction in progress" },
	[SMTPD_R_AUTH_MECH] = { 504, 1,
	    "504 5.5.4 Unrecognized authentication type" },
	[SMTPD_R_SYNTAX_AUTH] = { 501, 1,
	    "501 5.5.4 Syntax: AUTH mechanism [initial-response]" },
	[SMTPD_R_AUTH_CANCEL] = { 501, 1, "501 5.0.0 Authentication aborted" },
	[SMTPD_R_AUTH_DECODE] = { 501, 1, "501 5.5.2 Cannot decode response" },
	[SMTPD_R_AUTH_TOO_LONG] = { 500, 1,
	    "500 5.5.6 Authentication exchange line is too long" },
	[SMTPD_R_AUTH_TEMP] = { 454, 0,
	    "454 4.7.0 Temporary authentication failure" },
	[SMTPD_R_AUTH_LOCKOUT] = { 421, 0,
	    "421 4.7.0 Too many authentication failures" },
	[SMTPD_R_SENDER_NOT_OWNED] = { 553, 1,
	    "553 5.7.1 Sender address rejected: not owned by user $" },
};

unsigned smtpd_reply_code(enum smtpd_reply_id id)
{
	if ((unsigned)id >= SMTPD_R_COUNT)
		panic("reply id %d", (int)id);
	return smtpd_replies[id].code;
}

int smtpd_reply_is_error(enum smtpd_reply_id id)
{
	if ((unsigned)id >= SMTPD_R_COUNT)
		panic("reply id %d", (int)id);
	return smtpd_replies[id].error;
}

size_t smtpd_reply_format(char *dst, size_t cap, enum smtpd_reply_id id,
    const char *arg)
{
	const char *t;
	size_t n = 0;

	if ((unsigned)id >= SMTPD_R_COUNT || smtpd_replies[id].text == NULL)
		panic("reply id %d has no text", (int)id);
	if (cap < 3)
		panic("reply buffer too small");
	cap -= 2;		/* room for CRLF */
	for (t = smtpd_replies[id].text; *t != '\0' && n < cap; t++) {
		if (*t != '$') {
			dst[n++] = *t;
			continue;
		}
		for (const char *a = arg ? arg : ""; *a != '\0' && n < cap; a++)
			dst[n++] = *a;
	}
	dst[n++] = '\r';
	dst[n++] = '\n';
	return n;
}

void smtpd_reply_ehlo(struct buf *out, const char *host, uint64_t size_limit,
    unsigned ext)
{
	if (buf_printf(out, "250-%s\r\n"
	    "%s%s"
	    "250-PIPELINING\r\n"
	    "250-SIZE %" PRIu64 "\r\n"
	    "250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-CHUNKING\r\n"
	    "250-SMTPUTF8\r\n"
	    "250 HELP\r\n", host,
	    ext & SMTPD_EHLO_STARTTLS ? "250-STARTTLS\r\n" : "",
	    ext & SMTPD_EHLO_AUTH ? "250-AUTH PLAIN LOGIN\r\n" : "",
	    size_limit) < 0)
		panic("EHLO reply does not fit");
}
