/* libFuzzer target for the AUTH exchange (smtpd/smtpd_sasl.c, PLAIN and
 * LOGIN over lib/base64): what an unauthenticated client sends.  The
 * input is lines: the first is AUTH's argument, the next ones answer the
 * 334 challenges while the exchange goes on.  Checked: at most two
 * challenges, each "" or base64 text; a failure is a reply id; success
 * means a mechanism, a user name of 1..USERS_ADDRESS_MAX printable
 * non-space ASCII bytes and a terminated password of at most
 * SMTPD_SASL_DECODED_MAX bytes (no NUL in a PLAIN one); smtpd_sasl_wipe
 * leaves nothing behind.  Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtpd_sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of in[*off..size), without its CRLF or LF. */
static const char *next_line(const char *in, size_t size, size_t *off,
    size_t *len)
{
	const char *p = in + *off, *lf = memchr(p, '\n', size - *off);
	size_t n = lf ? (size_t)(lf - p) : size - *off;

	*off += n + (lf ? 1 : 0);
	*len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
	return p;
}

static void check_challenge(const char *c)
{
	for (; *c != '\0'; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		    (*c >= '0' && *c <= '9') || *c == '+' || *c == '/' ||
		    *c == '='))
			abort();
}

static void check_success(const struct smtpd_sasl *x)
{
	size_t ul = strnlen(x->user, sizeof(x->user));

	if (x->mech != SMTPD_SASL_PLAIN && x->mech != SMTPD_SASL_LOGIN)
		abort();
	if (ul == 0 || ul > USERS_ADDRESS_MAX)
		abort();
	for (size_t i = 0; i < ul; i++)
		if ((unsigned char)x->user[i] <= 0x20 ||
		    (unsigned char)x->user[i] >= 0x7f)
			abort();
	if (x->passlen > SMTPD_SASL_DECODED_MAX || x->pass[x->passlen] != '\0')
		abort();
	if (x->mech == SMTPD_SASL_PLAIN && memchr(x->pass, '\0', x->passlen))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtpd_sasl x;
	const char *in = (const char *)data, *line, *challenge = NULL;
	size_t off = 0, len;
	unsigned challenges = 0;
	int rc;

	line = next_line(in, size, &off, &len);
	rc = smtpd_sasl_start(&x, line, len, &challenge);
	while (rc == 0 && challenge != NULL) {
		check_challenge(challenge);
		if (++challenges > 2)
			abort();
		if (off >= size)
			break;	/* the client went away */
		line = next_line(in, size, &off, &len);
		rc = smtpd_sasl_step(&x, line, len, &challenge);
	}
	if (rc < 0)
		abort();
	if (rc == 0 && challenge == NULL)
		check_success(&x);
	(void)smtpd_sasl_name(&x);
	smtpd_sasl_wipe(&x);
	for (size_t i = 0; i < sizeof(x); i++)
		if (((const unsigned char *)&x)[i] != 0)
			abort();
	return 0;
}
