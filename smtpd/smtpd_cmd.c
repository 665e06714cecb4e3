/* smtpd_cmd: SMTP command-line parsing; see smtpd_cmd.h.  Every function
 * takes a length-delimited, untrusted line and never reads past it.  The
 * grammar is RFC 5321 4.1.1 with RFC 1870 (SIZE), 6152 (8BITMIME), 3030
 * (BDAT) and 6531 (SMTPUTF8); one tolerance: spaces after "FROM:"/"TO:". */
#include "smtpd/smtpd_cmd.h"
#include "lib/utf8.h"

#include <string.h>
#include <strings.h>

#define SMTPD_HELO_MAX 255
#define SMTPD_DIGITS_MAX 20	/* enough for any uint64_t */

static const char *const smtpd_verbs[SMTPD_V_COUNT] = {
	[SMTPD_V_UNKNOWN] = "UNKNOWN",
	[SMTPD_V_HELO] = "HELO",
	[SMTPD_V_EHLO] = "EHLO",
	[SMTPD_V_MAIL] = "MAIL",
	[SMTPD_V_RCPT] = "RCPT",
	[SMTPD_V_DATA] = "DATA",
	[SMTPD_V_BDAT] = "BDAT",
	[SMTPD_V_RSET] = "RSET",
	[SMTPD_V_NOOP] = "NOOP",
	[SMTPD_V_QUIT] = "QUIT",
	[SMTPD_V_VRFY] = "VRFY",
	[SMTPD_V_EXPN] = "EXPN",
	[SMTPD_V_HELP] = "HELP",
	[SMTPD_V_STARTTLS] = "STARTTLS",
	[SMTPD_V_AUTH] = "AUTH",
	[SMTPD_V_ETRN] = "ETRN",
	[SMTPD_V_TURN] = "TURN",
};

const char *smtpd_cmd_name(enum smtpd_verb v)
{
	return (unsigned)v < SMTPD_V_COUNT ? smtpd_verbs[v] : "UNKNOWN";
}

static enum smtpd_verb verb_lookup(const char *s, size_t n)
{
	for (unsigned v = 1; v < SMTPD_V_COUNT; v++)
		if (strlen(smtpd_verbs[v]) == n &&
		    strncasecmp(smtpd_verbs[v], s, n) == 0)
			return (enum smtpd_verb)v;
	return SMTPD_V_UNKNOWN;
}

int smtpd_cmd_parse(const char *line, size_t len, struct smtpd_cmd *c)
{
	size_t i = 0;

	c->verb = SMTPD_V_UNKNOWN;
	c->arg = line + len;
	c->arglen = 0;
	if (memchr(line, '\0', len) != NULL)
		return SMTPD_R_NUL;
	while (i < len && line[i] != ' ')
		i++;
	if (i <= SMTPD_VERB_MAX)
		c->verb = verb_lookup(line, i);
	while (i < len && line[i] == ' ')
		i++;
	while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	c->arg = line + i;
	c->arglen = len - i;
	return 0;
}

/* Skip "KEYWORD:" (case-insensitive) and any spaces after it. */
static int skip_prefix(const char **s, size_t *len, const char *kw)
{
	size_t k = strlen(kw);

	if (*len < k || strncasecmp(*s, kw, k) != 0)
		return -1;
	*s += k;
	*len -= k;
	while (*len > 0 && **s == ' ') {
		(*s)++;
		(*len)--;
	}
	return 0;
}

/* One "keyword[=value]" token of an ESMTP parameter list. */
struct param {
	const char *kw, *val;
	size_t kwlen, vallen;
	int has_val;
};

static int is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

/* Split the next token at *s; -1 if the syntax is bad. */
static int param_next(const char **s, size_t *len, struct param *p)
{
	size_t i = 0, eq = 0;
	const char *t = *s;

	while (i < *len && t[i] != ' ')
		i++;
	memset(p, 0, sizeof(*p));
	p->kw = t;
	while (eq < i && t[eq] != '=')
		eq++;
	p->kwlen = eq;
	if (eq == 0 || !is_alnum((unsigned char)t[0]))
		return -1;
	for (size_t k = 1; k < eq; k++)
		if (!is_alnum((unsigned char)t[k]) && t[k] != '-')
			return -1;
	if (eq < i) {
		p->has_val = 1;
		p->val = t + eq + 1;
		p->vallen = i - eq - 1;
		if (p->vallen == 0)
			return -1;
		for (size_t k = 0; k < p->vallen; k++)
			if (p->val[k] < 33 || p->val[k] > 126 ||
			    p->val[k] == '=')
				return -1;
	}
	while (i < *len && t[i] == ' ')
		i++;
	*s += i;
	*len -= i;
	return 0;
}

static int kw_is(const struct param *p, const char *name)
{
	return p->kwlen == strlen(name) &&
	    strncasecmp(p->kw, name, p->kwlen) == 0;
}

static int val_is(const struct param *p, const char *name)
{
	return p->vallen == strlen(name) &&
	    strncasecmp(p->val, name, p->vallen) == 0;
}

/* SIZE=digits; saturates at SMTPD_SIZE_HUGE instead of overflowing. */
static int param_size(const struct param *p, struct smtpd_mail *m)
{
	uint64_t v = 0;

	if (m->has_size)
		return SMTPD_R_PARAM_DUP;
	if (!p->has_val)
		return SMTPD_R_SIZE_SYNTAX;
	for (size_t k = 0; k < p->vallen; k++) {
		unsigned d = (unsigned char)p->val[k] - '0';

		if (d > 9)
			return SMTPD_R_SIZE_SYNTAX;
		if (v != SMTPD_SIZE_HUGE &&
		    (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, d, &v)))
			v = SMTPD_SIZE_HUGE;
	}
	m->has_size = 1;
	m->size = v;
	return 0;
}

static int param_body(const struct param *p, struct smtpd_mail *m)
{
	if (m->body != SMTPD_BODY_NONE)
		return SMTPD_R_PARAM_DUP;
	if (!p->has_val)
		return SMTPD_R_BODY_SYNTAX;
	if (val_is(p, "7BIT"))
		m->body = SMTPD_BODY_7BIT;
	else if (val_is(p, "8BITMIME"))
		m->body = SMTPD_BODY_8BITMIME;
	else if (val_is(p, "BINARYMIME"))
		return SMTPD_R_BODY_UNSUPPORTED;
	else
		return SMTPD_R_BODY_SYNTAX;
	return 0;
}

static int mail_param(const struct param *p, struct smtpd_mail *m)
{
	if (kw_is(p, "SIZE"))
		return param_size(p, m);
	if (kw_is(p, "BODY"))
		return param_body(p, m);
	if (kw_is(p, "SMTPUTF8")) {
		if (m->smtputf8)
			return SMTPD_R_PARAM_DUP;
		if (p->has_val)
			return SMTPD_R_PARAM_SYNTAX;
		m->smtputf8 = 1;
		return 0;
	}
	return SMTPD_R_PARAM_UNKNOWN;
}

static int addr_reply(int rc, int bad)
{
	switch (rc) {
	case ADDR_ETOOLONG:
		return SMTPD_R_ADDR_TOO_LONG;
	case ADDR_EUTF8:
		return SMTPD_R_ADDR_UTF8;
	default:
		return bad;
	}
}

/* The path at *s: parsed into a; *s and *len move past it and its spaces. */
static int path_take(const char **s, size_t *len, unsigned flags,
    struct addr *a, int *had_route, int bad)
{
	size_t end;
	int rc;

	if (*len == 0 || (*s)[0] != '<')
		return bad;
	*had_route = *len > 1 && (*s)[1] == '@';
	if ((rc = addr_parse_path(*s, *len, flags, a, &end)) != ADDR_OK)
		return addr_reply(rc, bad);
	if (end < *len && (*s)[end] != ' ')
		return bad;
	while (end < *len && (*s)[end] == ' ')
		end++;
	*s += end;
	*len -= end;
	return 0;
}

int smtpd_cmd_mail(const char *arg, size_t len, int esmtp,
    struct smtpd_mail *m)
{
	struct param p;
	int rc;

	memset(m, 0, sizeof(*m));
	if (skip_prefix(&arg, &len, "FROM:") < 0 || len == 0)
		return SMTPD_R_SYNTAX_MAIL;
	rc = path_take(&arg, &len, ADDR_NEED_BRACKETS | ADDR_ALLOW_NULL |
	    ADDR_ALLOW_UTF8, &m->addr, &m->had_route, SMTPD_R_BAD_SENDER);
	if (rc != 0)
		return rc;
	while (len > 0) {
		if (param_next(&arg, &len, &p) < 0)
			return SMTPD_R_PARAM_SYNTAX;
		if (!esmtp)
			return SMTPD_R_PARAM_UNKNOWN;
		if ((rc = mail_param(&p, m)) != 0)
			return rc;
	}
	if (m->addr.has_utf8 && !m->smtputf8)
		return SMTPD_R_ADDR_UTF8;
	return 0;
}

int smtpd_cmd_rcpt(const char *arg, size_t len, int utf8,
    struct smtpd_rcpt *r)
{
	struct param p;
	unsigned flags = ADDR_NEED_BRACKETS | ADDR_ALLOW_POSTMASTER;
	int rc;

	memset(r, 0, sizeof(*r));
	if (skip_prefix(&arg, &len, "TO:") < 0 || len == 0)
		return SMTPD_R_SYNTAX_RCPT;
	if (utf8)
		flags |= ADDR_ALLOW_UTF8;
	rc = path_take(&arg, &len, flags, &r->addr, &r->had_route,
	    SMTPD_R_BAD_RCPT);
	if (rc != 0)
		return rc;
	if (len > 0)	/* no RCPT parameters are advertised (no DSN yet) */
		return param_next(&arg, &len, &p) < 0 ? SMTPD_R_PARAM_SYNTAX :
		    SMTPD_R_PARAM_UNKNOWN;
	return 0;
}

int smtpd_cmd_bdat(const char *arg, size_t len, uint64_t *count, int *last)
{
	size_t i = 0;
	uint64_t v = 0;

	*count = 0;
	*last = 0;
	while (i < len && arg[i] >= '0' && arg[i] <= '9') {
		if (i == SMTPD_DIGITS_MAX ||
		    __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (unsigned)(arg[i] - '0'), &v))
			return SMTPD_R_SYNTAX_BDAT;
		i++;
	}
	if (i == 0 || (i < len && arg[i] != ' '))
		return SMTPD_R_SYNTAX_BDAT;
	while (i < len && arg[i] == ' ')
		i++;
	if (i < len) {
		if (len - i != 4 || strncasecmp(arg + i, "LAST", 4) != 0)
			return SMTPD_R_SYNTAX_BDAT;
		*last = 1;
	}
	*count = v;
	return 0;
}

int smtpd_cmd_helo(const char *arg, size_t len, int esmtp)
{
	int bad = esmtp ? SMTPD_R_SYNTAX_EHLO : SMTPD_R_SYNTAX_HELO;
	size_t i = 0;

	if (len == 0 || len > SMTPD_HELO_MAX)
		return bad;
	while (i < len) {
		unsigned char ch = (unsigned char)arg[i];

		if (ch >= 0x80) {
			size_t k = utf8_seq_len(arg + i, len - i);

			if (k == 0)
				return bad;
			i += k;
		} else if (ch > 32 && ch < 127) {
			i++;
		} else {
			return bad;
		}
	}
	return 0;
}
