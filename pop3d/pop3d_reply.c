/* pop3d_reply: the reply table; see pop3d_reply.h.  Codes in brackets are
 * RFC 2449 extended response codes (RESP-CODES, AUTH-RESP-CODE): [AUTH]
 * says the credentials failed, [IN-USE] that the mailbox is locked,
 * [SYS/TEMP] a transient server problem worth retrying. */
#include "pop3d/pop3d_reply.h"
#include "lib/mem.h"

static const char *const pop3d_replies[POP3D_R_NCODES] = {
	[POP3D_R_GREETING] = "+OK POP3 server ready\r\n",
	[POP3D_R_OK] = "+OK\r\n",
	[POP3D_R_BYE] = "+OK bye\r\n",
	[POP3D_R_USER_OK] = "+OK send PASS\r\n",
	[POP3D_R_USER_FIRST] = "-ERR USER first\r\n",
	[POP3D_R_BAD_USER] = "-ERR invalid user name\r\n",
	[POP3D_R_PLAINTEXT] = "-ERR [AUTH] Plaintext authentication "
	    "disallowed on non-secure connections\r\n",
	[POP3D_R_AUTH_FAILED] = "-ERR [AUTH] Authentication failed\r\n",
	[POP3D_R_AUTH_LOCKOUT] = "-ERR [AUTH] Too many failed logins, try "
	    "again later\r\n",
	[POP3D_R_IN_USE] = "-ERR [IN-USE] mailbox locked\r\n",
	[POP3D_R_MBOX_TEMP] = "-ERR [SYS/TEMP] mailbox unavailable, try "
	    "again later\r\n",
	[POP3D_R_LOGGED_IN] = "+OK mailbox locked and ready\r\n",
	[POP3D_R_NOT_LOGGED_IN] = "-ERR not logged in\r\n",
	[POP3D_R_ALREADY_AUTH] = "-ERR already logged in\r\n",
	[POP3D_R_UNKNOWN] = "-ERR unknown command\r\n",
	[POP3D_R_SYNTAX] = "-ERR syntax error\r\n",
	[POP3D_R_NO_SUCH_MSG] = "-ERR no such message\r\n",
	[POP3D_R_DELETED_ALREADY] = "-ERR message already deleted\r\n",
	[POP3D_R_DELETED] = "+OK message deleted\r\n",
	[POP3D_R_LINE_TOO_LONG] = "-ERR line too long\r\n",
	[POP3D_R_TOO_MANY_ERRORS] = "-ERR too many errors, closing\r\n",
	[POP3D_R_TIMEOUT] = "-ERR autologout: idle too long\r\n",
	[POP3D_R_TOO_MANY_CONN] = "-ERR [SYS/TEMP] Too many connections\r\n",
	[POP3D_R_TOO_MANY_CONN_ADDR] = "-ERR [SYS/TEMP] Too many connections "
	    "from your address\r\n",
	[POP3D_R_SHUTDOWN] = "-ERR [SYS/TEMP] server shutting down\r\n",
	[POP3D_R_SASL_CONT] = "+ \r\n",
	[POP3D_R_SASL_CANCEL] = "-ERR authentication cancelled\r\n",
	[POP3D_R_SASL_BAD] = "-ERR [AUTH] invalid SASL response\r\n",
	[POP3D_R_SASL_MECH] = "-ERR unsupported SASL mechanism\r\n",
	[POP3D_R_AUTH_LIST] = "+OK\r\nPLAIN\r\n.\r\n",
	[POP3D_R_READ_FAILED] = "-ERR [SYS/TEMP] cannot read the message\r\n",
	[POP3D_R_UPDATE_FAILED] = "-ERR [SYS/TEMP] some deleted messages "
	    "were not removed\r\n",
	[POP3D_R_NO_APOP] = "-ERR APOP not supported\r\n",
	[POP3D_R_NO_STLS] = "-ERR [SYS/TEMP] TLS not available\r\n",
	[POP3D_R_STLS_GO] = "+OK Begin TLS negotiation\r\n",
	[POP3D_R_TLS_ACTIVE] = "-ERR TLS already active\r\n",
};

const char *pop3d_reply_text(enum pop3d_reply r)
{
	if ((unsigned)r >= POP3D_R_NCODES || pop3d_replies[r] == NULL)
		return "-ERR\r\n";
	return pop3d_replies[r];
}
