/* smtpd_sasl: PLAIN and LOGIN; see smtpd_sasl.h.  Every decoded response
 * lives in a stack buffer that is wiped before returning, whatever the
 * outcome, so the only copy of a password left is x->pass. */
#include "smtpd/smtpd_sasl.h"
#include "smtpd/smtpd_reply.h"
#include "lib/base64.h"

#include <string.h>
#include <strings.h>

#define CHALLENGE_USER "VXNlcm5hbWU6"	/* "Username:" */
#define CHALLENGE_PASS "UGFzc3dvcmQ6"	/* "Password:" */

/* Decode a response: "=" (initial responses only) is empty. */
static long decode(const char *p, size_t n, int initial, char *out)
{
	if (initial && n == 1 && p[0] == '=')
		return 0;
	return base64_decode(p, n, out, SMTPD_SASL_DECODED_MAX);
}

/* A user name we can log and look up: printable ASCII, no spaces. */
static int set_user(struct smtpd_sasl *x, const char *p, size_t n)
{
	if (n == 0 || n > USERS_ADDRESS_MAX)
		return SMTPD_R_AUTH_FAILED;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return SMTPD_R_AUTH_FAILED;
	memcpy(x->user, p, n);
	x->user[n] = '\0';
	return 0;
}

static void set_pass(struct smtpd_sasl *x, const char *p, size_t n)
{
	memcpy(x->pass, p, n);
	x->pass[n] = '\0';
	x->passlen = n;
}

/* authzid NUL authcid NUL passwd (RFC 4616 2). */
static int plain(struct smtpd_sasl *x, const char *d, size_t n)
{
	const char *nul1 = memchr(d, '\0', n), *nul2, *user;
	size_t zlen, ulen;
	int rc;

	if (nul1 == NULL || (nul2 = memchr(nul1 + 1, '\0',
	    n - (size_t)(nul1 + 1 - d))) == NULL ||
	    memchr(nul2 + 1, '\0', n - (size_t)(nul2 + 1 - d)) != NULL)
		return SMTPD_R_AUTH_DECODE;
	user = nul1 + 1;
	zlen = (size_t)(nul1 - d);
	ulen = (size_t)(nul2 - user);
	if ((rc = set_user(x, user, ulen)) != 0)
		return rc;
	if (zlen != 0 && (zlen != ulen || strncasecmp(d, user, ulen) != 0))
		return SMTPD_R_AUTHZ_DENIED;
	set_pass(x, nul2 + 1, n - (size_t)(nul2 + 1 - d));
	return 0;
}

/* A decoded response for the current step. */
static int take(struct smtpd_sasl *x, const char *d, size_t n,
    const char **challenge)
{
	int rc;

	if (x->mech == SMTPD_SASL_PLAIN)
		return plain(x, d, n);
	if (x->want_pass) {
		set_pass(x, d, n);
		return 0;
	}
	if ((rc = set_user(x, d, n)) != 0)
		return rc;
	x->want_pass = 1;
	*challenge = CHALLENGE_PASS;
	return 0;
}

/* Decode p[0..n) and take it; the decoded copy is wiped. */
static int respond(struct smtpd_sasl *x, const char *p, size_t n,
    int initial, const char **challenge)
{
	char d[SMTPD_SASL_DECODED_MAX];
	long len = decode(p, n, initial, d);
	int rc;

	if (len < 0)
		return SMTPD_R_AUTH_DECODE;
	rc = take(x, d, (size_t)len, challenge);
	explicit_bzero(d, sizeof(d));
	return rc;
}

int smtpd_sasl_start(struct smtpd_sasl *x, const char *arg, size_t n,
    const char **challenge)
{
	const char *sp = memchr(arg, ' ', n);
	size_t mlen = sp ? (size_t)(sp - arg) : n;

	memset(x, 0, sizeof(*x));
	*challenge = NULL;
	if (mlen == 0 || (sp != NULL && sp + 1 == arg + n))
		return SMTPD_R_SYNTAX_AUTH;
	if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0)
		x->mech = SMTPD_SASL_PLAIN;
	else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0)
		x->mech = SMTPD_SASL_LOGIN;
	else
		return SMTPD_R_AUTH_MECH;
	if (sp != NULL)
		return respond(x, sp + 1, n - mlen - 1, 1, challenge);
	*challenge = x->mech == SMTPD_SASL_PLAIN ? "" : CHALLENGE_USER;
	return 0;
}

int smtpd_sasl_step(struct smtpd_sasl *x, const char *line, size_t n,
    const char **challenge)
{
	*challenge = NULL;
	if (n == 1 && line[0] == '*')
		return SMTPD_R_AUTH_CANCEL;
	return respond(x, line, n, 0, challenge);
}

const char *smtpd_sasl_name(const struct smtpd_sasl *x)
{
	return x->mech == SMTPD_SASL_PLAIN ? "PLAIN" :
	    x->mech == SMTPD_SASL_LOGIN ? "LOGIN" : "none";
}

void smtpd_sasl_wipe(struct smtpd_sasl *x)
{
	explicit_bzero(x, sizeof(*x));
}
