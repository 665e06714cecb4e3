/* addr: RFC 5321 mailbox and domain parsing for the envelope (MAIL FROM,
 * RCPT TO, sendmail arguments).  Strict and bounded: local part <= 64
 * octets, domain <= 255, path <= 256; quoted local parts, address literals
 * ([IPv4] / [IPv6:...]); UTF-8 only when SMTPUTF8 is allowed.  Source routes
 * (@a,@b:user@c) are accepted syntactically and discarded, per RFC 5321. */
#ifndef LIB_ADDR_H
#define LIB_ADDR_H
#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_PATH_MAX 256

enum addr_err {
	ADDR_OK = 0,
	ADDR_ESYNTAX = -1,	/* 501 5.1.3 / 5.1.7 */
	ADDR_ETOOLONG = -2,	/* 501 5.1.3 */
	ADDR_EUTF8 = -3,	/* 553 5.6.7: 8-bit without SMTPUTF8 */
	ADDR_EEMPTY = -4,	/* <> where not allowed */
};

struct addr {
	char local[ADDR_LOCAL_MAX * 2 + 3];	/* as written (quotes kept) */
	char domain[ADDR_DOMAIN_MAX + 1];	/* "" for <> and <Postmaster> */
	int is_null;				/* the null path <> */
	int has_utf8;
	int is_literal;				/* domain is [..] */
};

#define ADDR_ALLOW_NULL 0x1	/* <> is valid (MAIL FROM) */
#define ADDR_ALLOW_UTF8 0x2	/* SMTPUTF8 given */
#define ADDR_NEED_BRACKETS 0x4	/* must be <...> (SMTP); else bare ok */
#define ADDR_ALLOW_POSTMASTER 0x8 /* <Postmaster> without domain (RCPT) */

/* Parse a path "<local@domain>" (or bare, if allowed) of length len.
 * *end is set past the closing '>' so ESMTP parameters can follow (bare
 * form: where the mailbox ends, at the end or at a space; the caller
 * checks what follows).  Returns ADDR_OK or a negative enum addr_err. */
int addr_parse_path(const char *s, size_t len, unsigned flags, struct addr *a,
    size_t *end);
/* Validate a domain name or address literal: ADDR_OK or an addr_err. */
int addr_valid_domain(const char *d, size_t len, int allow_utf8);
/* "local@domain" (or "" for the null path) into out; -ENOSPC if short. */
int addr_format(const struct addr *a, char *out, size_t outlen);
/* Domain lower-cased (ASCII only) into out. */
void addr_domain_lower(const struct addr *a, char *out, size_t outlen);
#endif
