/* remote_reply: SMTP reply parsing for mta-remote; see remote_reply.h.
 * Bytes are copied into the fixed line buffer until a LF; each complete
 * line is checked, its text added to the reply and handed to the line
 * hook (EHLO keywords).  No allocation: a hostile server can cost at most
 * the line buffer and a bounded number of lines per reply. */
#include "deliver/remote_reply.h"

#include <errno.h>
#include <string.h>

void remote_reply_init(struct remote_rparse *rp)
{
	rp->len = 0;
	rp->why = NULL;
	rp->complete = 0;
	memset(&rp->r, 0, sizeof(rp->r));
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1..3 digits at text[*i]; advances *i. */
static int digits(const char *text, size_t n, size_t *i)
{
	size_t k = 0;

	while (*i < n && is_digit(text[*i]) && k < 4) {
		(*i)++;
		k++;
	}
	return k >= 1 && k <= 3;
}

int remote_reply_dsn(const char *text, size_t n, int cls,
    char out[REMOTE_DSN_MAX])
{
	size_t i = 1;

	out[0] = '\0';
	if (n < 5 || text[0] != (char)('0' + cls) || text[1] != '.')
		return 0;
	i = 2;
	if (!digits(text, n, &i) || i >= n || text[i] != '.')
		return 0;
	i++;
	if (!digits(text, n, &i))
		return 0;
	if (i < n && text[i] != ' ' && text[i] != '\t')
		return 0;
	memcpy(out, text, i);
	out[i] = '\0';
	return 1;
}

static int bad(struct remote_rparse *rp, const char *why)
{
	rp->why = why;
	rp->len = 0;
	return -EPROTO;
}

/* One line (without its line end).  1: the last line of the reply. */
static int take_line(struct remote_rparse *rp, const char *s, size_t n)
{
	struct remote_reply *r = &rp->r;
	int code, last;

	if (n < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
		return bad(rp, "malformed reply line");
	if (s[0] < '2' || s[0] > '5' || s[1] > '5')
		return bad(rp, "invalid reply code");
	if (n > 3 && s[3] != ' ' && s[3] != '-')
		return bad(rp, "malformed reply line");
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	last = n == 3 || s[3] == ' ';
	if (r->nlines == 0) {
		r->code = code;
		memcpy(r->text, s, 3);
		r->textlen = 3;
		r->text[3] = '\0';
		if (n > 4)
			remote_reply_dsn(s + 4, n - 4, s[0] - '0', r->dsn);
	} else if (code != r->code) {
		return bad(rp, "reply code changed in a multi-line reply");
	}
	if (++r->nlines > REMOTE_REPLY_LINES_MAX)
		return bad(rp, "too many reply lines");
	if (n > 4) {
		agent_text_append(r->text, &r->textlen, " ", 1);
		agent_text_append(r->text, &r->textlen, s + 4, n - 4);
	}
	if (rp->line_fn != NULL)
		rp->line_fn(rp->line_arg, s + (n > 4 ? 4 : n), n > 4 ? n - 4 : 0,
		    r->nlines);
	return last;
}

int remote_reply_feed(struct remote_rparse *rp, const char *p, size_t n,
    size_t *used)
{
	size_t i = 0;

	while (i < n) {
		const char *lf = memchr(p + i, '\n', n - i);
		size_t k = lf ? (size_t)(lf - (p + i)) : n - i;
		int rc;

		if (rp->len + k + (lf ? 1 : 0) > REMOTE_REPLY_LINE_MAX)
			return bad(rp, "reply line too long");
		memcpy(rp->line + rp->len, p + i, k);
		rp->len += k;
		i += k;
		if (lf == NULL)
			break;
		i++;	/* the LF */
		k = rp->len;
		if (k > 0 && rp->line[k - 1] == '\r')
			k--;
		rp->len = 0;
		if (rp->complete) {	/* the first line of the next reply */
			memset(&rp->r, 0, sizeof(rp->r));
			rp->complete = 0;
		}
		rc = take_line(rp, rp->line, k);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			*used = i;
			rp->complete = 1;
			return 1;
		}
	}
	*used = n;
	return 0;
}
