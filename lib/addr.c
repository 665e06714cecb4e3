/* addr: RFC 5321 Path / Mailbox parsing (section 4.1.2) with the RFC 6531
 * SMTPUTF8 extensions; see addr.h.  A recursive-descent parser over a
 * cursor: every byte is checked against the grammar, lengths are checked
 * on the wire form before anything is copied, and nothing is allocated.
 * Called by smtpd (MAIL/RCPT), sendmail (arguments) and the config. */
#include "lib/addr.h"
#include "lib/mem.h"
#include "lib/utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define ADDR_LABEL_MAX 63
#define ADDR_LITERAL_MAX 64	/* "IPv6:" + the longest IPv6 text */

struct cur {
	const char *s;
	size_t len;
	size_t pos;
	unsigned flags;
	int utf8;		/* saw a valid 8-bit sequence */
};

static int peek(const struct cur *c)
{
	return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static int is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

/* RFC 5322 atext. */
static int is_atext(int ch)
{
	return ch >= 0 && (is_alnum(ch) || (ch < 0x80 && ch != 0 &&
	    strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL));
}

/* One UTF-8 sequence at the cursor (which holds a byte >= 0x80). */
static int eat_utf8(struct cur *c)
{
	size_t k;

	if (!(c->flags & ADDR_ALLOW_UTF8))
		return ADDR_EUTF8;
	k = utf8_seq_len(c->s + c->pos, c->len - c->pos);
	if (k == 0)
		return ADDR_ESYNTAX;
	c->pos += k;
	c->utf8 = 1;
	return ADDR_OK;
}

/* Dot-string = Atom *("." Atom); atext plus UTF8-non-ascii. */
static int parse_dot_string(struct cur *c)
{
	for (;;) {
		size_t start = c->pos;
		int ch, rc;

		while ((ch = peek(c)) >= 0) {
			if (ch >= 0x80) {
				if ((rc = eat_utf8(c)) < 0)
					return rc;
			} else if (is_atext(ch)) {
				c->pos++;
			} else {
				break;
			}
		}
		if (c->pos == start)
			return ADDR_ESYNTAX;	/* empty atom */
		if (peek(c) != '.')
			return ADDR_OK;
		c->pos++;
	}
}

/* Quoted-string: qtextSMTP / quoted-pairSMTP between DQUOTEs. */
static int parse_quoted(struct cur *c)
{
	int ch, rc;

	c->pos++;			/* the opening quote */
	while ((ch = peek(c)) != '"') {
		if (ch < 0)
			return ADDR_ESYNTAX;	/* unbalanced */
		if (ch == '\\') {
			c->pos++;
			ch = peek(c);
			if (ch < 32 || ch > 126)
				return ch >= 0x80 && !(c->flags & ADDR_ALLOW_UTF8) ?
				    ADDR_EUTF8 : ADDR_ESYNTAX;
			c->pos++;
		} else if (ch >= 0x80) {
			if ((rc = eat_utf8(c)) < 0)
				return rc;
		} else if (ch >= 32 && ch <= 126) {
			c->pos++;
		} else {
			return ADDR_ESYNTAX;	/* NUL, CR, LF, controls */
		}
	}
	c->pos++;
	return ADDR_OK;
}

/* One sub-domain: Let-dig [Ldh-str], or a U-label under SMTPUTF8. */
static int parse_label(struct cur *c)
{
	size_t start = c->pos;
	int ch, rc, last = -1;

	while ((ch = peek(c)) >= 0) {
		if (ch >= 0x80) {
			if ((rc = eat_utf8(c)) < 0)
				return rc;
		} else if (is_alnum(ch) || ch == '-') {
			if (ch == '-' && c->pos == start)
				return ADDR_ESYNTAX;
			c->pos++;
		} else {
			break;
		}
		last = ch;
	}
	if (c->pos == start || last == '-')
		return ADDR_ESYNTAX;
	if (c->pos - start > ADDR_LABEL_MAX)
		return ADDR_ETOOLONG;
	return ADDR_OK;
}

/* Domain = sub-domain *("." sub-domain); no trailing dot. */
static int parse_domain_name(struct cur *c)
{
	int rc;

	for (;;) {
		if ((rc = parse_label(c)) < 0)
			return rc;
		if (peek(c) != '.')
			return ADDR_OK;
		c->pos++;
	}
}

/* address-literal: [IPv4] or [IPv6:addr], checked with inet_pton. */
static int parse_literal(struct cur *c)
{
	char tmp[ADDR_LITERAL_MAX + 1];
	unsigned char bin[16];
	size_t start = ++c->pos, n;
	int ch;

	while ((ch = peek(c)) != ']') {
		/* dcontent: %d33-90 / %d94-126 */
		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
			return ch >= 0x80 && !(c->flags & ADDR_ALLOW_UTF8) ?
			    ADDR_EUTF8 : ADDR_ESYNTAX;
		c->pos++;
	}
	n = c->pos - start;
	c->pos++;
	if (n == 0 || n > ADDR_LITERAL_MAX)
		return ADDR_ESYNTAX;
	memcpy(tmp, c->s + start, n);
	tmp[n] = '\0';
	if (n > 5 && strncasecmp(tmp, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, bin) == 1 ? ADDR_OK :
		    ADDR_ESYNTAX;
	/* General-address-literal (other tags) is not supported. */
	return inet_pton(AF_INET, tmp, bin) == 1 ? ADDR_OK : ADDR_ESYNTAX;
}

static int parse_domain(struct cur *c, int allow_literal)
{
	if (peek(c) == '[')
		return allow_literal ? parse_literal(c) : ADDR_ESYNTAX;
	return parse_domain_name(c);
}

/* A-d-l ":" -- a source route, checked and then ignored. */
static int parse_route(struct cur *c)
{
	int rc;

	for (;;) {
		c->pos++;		/* '@' */
		if ((rc = parse_domain(c, 0)) < 0)
			return rc;
		if (peek(c) == ':') {
			c->pos++;
			return ADDR_OK;
		}
		if (peek(c) != ',')
			return ADDR_ESYNTAX;
		c->pos++;
		if (peek(c) != '@')
			return ADDR_ESYNTAX;
	}
}

/* The bare form ends at the end of input or at a space. */
static int at_bare_end(const struct cur *c)
{
	return peek(c) < 0 || peek(c) == ' ';
}

/* "<Postmaster>" without a domain (RFC 5321 4.1.1.3), when allowed. */
static int is_postmaster(const struct cur *c, int bracket)
{
	static const char pm[] = "postmaster";
	struct cur t = *c;

	if (!(c->flags & ADDR_ALLOW_POSTMASTER) ||
	    c->len - c->pos < sizeof(pm) - 1 ||
	    strncasecmp(c->s + c->pos, pm, sizeof(pm) - 1) != 0)
		return 0;
	t.pos += sizeof(pm) - 1;
	return bracket ? peek(&t) == '>' : at_bare_end(&t);
}

/* Local-part "@" Domain, recording where each part lies. */
static int parse_mailbox(struct cur *c, size_t *lo, size_t *ll, size_t *dof,
    size_t *dl)
{
	int rc;

	*lo = c->pos;
	rc = peek(c) == '"' ? parse_quoted(c) : parse_dot_string(c);
	if (rc < 0)
		return rc;
	*ll = c->pos - *lo;
	if (peek(c) != '@')
		return ADDR_ESYNTAX;
	c->pos++;
	*dof = c->pos;
	if ((rc = parse_domain(c, 1)) < 0)
		return rc;
	*dl = c->pos - *dof;
	return ADDR_OK;
}

static int finish(struct cur *c, int bracket, size_t *end)
{
	if (bracket) {
		if (peek(c) != '>')
			return ADDR_ESYNTAX;
		c->pos++;
		if (c->pos > ADDR_PATH_MAX)
			return ADDR_ETOOLONG;
	} else {
		if (!at_bare_end(c))
			return ADDR_ESYNTAX;
		if (c->pos + 2 > ADDR_PATH_MAX)
			return ADDR_ETOOLONG;
	}
	if (end != NULL)
		*end = c->pos;
	return ADDR_OK;
}

/* The null path "<>" (or an empty bare argument). */
static int parse_null(struct cur *c, int bracket, struct addr *a,
    size_t *end)
{
	if (!(c->flags & ADDR_ALLOW_NULL))
		return ADDR_EEMPTY;
	a->is_null = 1;
	if (end != NULL)
		*end = bracket ? 2 : 0;
	return ADDR_OK;
}

int addr_parse_path(const char *s, size_t len, unsigned flags, struct addr *a,
    size_t *end)
{
	struct cur c = { s, len, 0, flags, 0 };
	size_t lo = 0, ll = 0, dof = 0, dl = 0;
	int bracket = len > 0 && s[0] == '<', rc;

	memset(a, 0, sizeof(*a));
	if (end != NULL)
		*end = 0;
	if (!bracket && (flags & ADDR_NEED_BRACKETS))
		return ADDR_ESYNTAX;
	c.pos = bracket ? 1 : 0;
	if (bracket ? peek(&c) == '>' : len == 0)
		return parse_null(&c, bracket, a, end);
	if (is_postmaster(&c, bracket)) {
		lo = c.pos;
		ll = sizeof("postmaster") - 1;
		c.pos += ll;
	} else {
		if (bracket && peek(&c) == '@' && (rc = parse_route(&c)) < 0)
			return rc;
		if ((rc = parse_mailbox(&c, &lo, &ll, &dof, &dl)) < 0)
			return rc;
	}
	if ((rc = finish(&c, bracket, NULL)) < 0)
		return rc;
	if (ll > ADDR_LOCAL_MAX || dl > ADDR_DOMAIN_MAX)
		return ADDR_ETOOLONG;
	memcpy(a->local, s + lo, ll);
	memcpy(a->domain, s + dof, dl);
	a->has_utf8 = c.utf8;
	a->is_literal = dl > 0 && s[dof] == '[';
	if (end != NULL)
		*end = c.pos;
	return ADDR_OK;
}

int addr_valid_domain(const char *d, size_t len, int allow_utf8)
{
	struct cur c = { d, len, 0, allow_utf8 ? ADDR_ALLOW_UTF8 : 0, 0 };
	int rc;

	if (len == 0)
		return ADDR_ESYNTAX;
	if ((rc = parse_domain(&c, 1)) < 0)
		return rc;
	if (c.pos != len)
		return ADDR_ESYNTAX;
	return len > ADDR_DOMAIN_MAX ? ADDR_ETOOLONG : ADDR_OK;
}

int addr_format(const struct addr *a, char *out, size_t outlen)
{
	int n;

	if (a->is_null)
		n = snprintf(out, outlen, "%s", "");
	else if (a->domain[0] == '\0')
		n = snprintf(out, outlen, "%s", a->local);
	else
		n = snprintf(out, outlen, "%s@%s", a->local, a->domain);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

void addr_domain_lower(const struct addr *a, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; a->domain[i] != '\0' && i + 1 < outlen; i++) {
		char ch = a->domain[i];

		out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[i] = '\0';
}
