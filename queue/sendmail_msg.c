/* sendmail_msg: turn the input of the sendmail command into the content
 * the queue stores: CRLF line ends (a CR before LF is kept as one CRLF),
 * without -i a line "." ends the input, a leading mbox "From " line is
 * dropped, the header is held until it ends so that Bcc can be removed and
 * the missing From:, Date: and Message-ID: added (as Postfix's cleanup
 * does for local submissions), and our Received: header goes first.  The
 * content is unstuffed: no dot-stuffing here (the SMTP client does it). */
#include "queue/sendmail.h"
#include "lib/date.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void sendmail_msg_init(struct sendmail_msg *m, const struct sendmail_opts *o,
    size_t limit)
{
	memset(m, 0, sizeof(*m));
	m->ignore_dots = o->ignore_dots;
	m->extract = o->extract;
	m->in_headers = 1;
	m->limit = limit;
	buf_init(&m->hdrs, 0);
	buf_init(&m->body, 0);
	buf_init(&m->content, 0);
}

void sendmail_msg_free(struct sendmail_msg *m)
{
	buf_free(&m->hdrs);
	buf_free(&m->body);
	buf_free(&m->content);
	free(m->fields);
	m->fields = NULL;
}

/* "Name:" with a name of printable ASCII other than ':' (RFC 5322). */
static int is_header_start(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != ':'; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
			return 0;
	return i > 0 && i < n;
}

static int add_line(struct sendmail_msg *m, struct buf *b, const char *s,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			m->eightbit = 1;
	if (m->hdrs.len + m->body.len + n + 2 > m->limit)
		return -EMSGSIZE;
	if (buf_append(b, s, n) < 0 || buf_append(b, "\r\n", 2) < 0)
		return -EMSGSIZE;
	return 0;
}

/* A header line: a new field, a continuation, or the end of the header. */
static int header_line(struct sendmail_msg *m, const char *s, size_t n)
{
	if (m->lines == 1 && n >= 5 && memcmp(s, "From ", 5) == 0)
		return 0;	/* mbox separator, not a header */
	if (n == 0) {
		m->in_headers = 0;	/* the separator is added back later */
		return 0;
	}
	if ((s[0] == ' ' || s[0] == '\t') && m->nfields > 0)
		return add_line(m, &m->hdrs, s, n);
	if (!is_header_start(s, n)) {
		/* Body without an empty line first: we add one. */
		m->in_headers = 0;
		return add_line(m, &m->body, s, n);
	}
	m->fields = xreallocarray(m->fields, m->nfields + 1, sizeof(size_t));
	m->fields[m->nfields++] = m->hdrs.len;
	return add_line(m, &m->hdrs, s, n);
}

int sendmail_msg_line(struct sendmail_msg *m, const char *line, size_t len)
{
	if (m->done)
		return 1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	m->lines++;
	if (!m->ignore_dots && len == 1 && line[0] == '.') {
		m->done = 1;
		return 1;
	}
	if (m->in_headers)
		return header_line(m, line, len);
	return add_line(m, &m->body, line, len);
}

int sendmail_msg_feed(struct sendmail_msg *m, struct buf *pending,
    const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		int rc;

		if (nl == NULL) {
			if (pending->len + k > m->limit ||
			    buf_append(pending, p, k) < 0)
				return -EMSGSIZE;
			return 0;
		}
		if (pending->len > 0) {
			if (buf_append(pending, p, k) < 0)
				return -EMSGSIZE;
			rc = sendmail_msg_line(m, pending->data, pending->len);
			buf_reset(pending);
		} else {
			rc = sendmail_msg_line(m, p, k);
		}
		if (rc != 0)
			return rc;
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

int sendmail_msg_eof(struct sendmail_msg *m, struct buf *pending)
{
	int rc = 0;

	if (pending->len > 0 && !m->done)
		rc = sendmail_msg_line(m, pending->data, pending->len);
	buf_reset(pending);
	return rc < 0 ? rc : 0;
}

/* Field i's name is name (case-insensitive). */
static int field_is(const struct sendmail_msg *m, size_t i, const char *name)
{
	size_t n = strlen(name);
	const char *f = m->hdrs.data + m->fields[i];
	size_t flen = (i + 1 < m->nfields ? m->fields[i + 1] : m->hdrs.len) -
	    m->fields[i];

	return flen > n && strncasecmp(f, name, n) == 0 && f[n] == ':';
}

static int have_field(const struct sendmail_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (field_is(m, i, name))
			return 1;
	return 0;
}

/* With -t: the recipients of every To, Cc and Bcc field. */
static int extract_rcpts(struct sendmail_msg *m,
    const struct sendmail_env *env, struct sendmail_rcpts *rc, char *err,
    size_t errlen)
{
	static const char *const names[] = { "To", "Cc", "Bcc" };

	for (size_t i = 0; i < m->nfields; i++)
		for (size_t k = 0; k < ARRAY_LEN(names); k++) {
			size_t start = m->fields[i] + strlen(names[k]) + 1;
			size_t end = i + 1 < m->nfields ? m->fields[i + 1] :
			    m->hdrs.len;

			if (!field_is(m, i, names[k]))
				continue;
			if (sendmail_addr_list(m->hdrs.data + start,
			    end - start, env->hostname, rc, &m->utf8, err,
			    errlen) < 0)
				return -EINVAL;
		}
	return 0;
}

static int add_headers(struct sendmail_msg *m, const struct sendmail_env *env)
{
	struct buf *c = &m->content;
	char date[64];
	int rc = 0;

	date_rfc5322(env->now, date, sizeof(date));
	rc |= buf_printf(c, "Received: by %s (mta sendmail, from userid %u);"
	    "\r\n\t%s\r\n", env->hostname, (unsigned)env->uid, date);
	for (size_t i = 0; i < m->nfields; i++) {
		size_t end = i + 1 < m->nfields ? m->fields[i + 1] : m->hdrs.len;

		if (field_is(m, i, "Bcc") || field_is(m, i, "Resent-Bcc"))
			continue;
		rc |= buf_append(c, m->hdrs.data + m->fields[i],
		    end - m->fields[i]);
	}
	if (!have_field(m, "From"))
		rc |= buf_printf(c, "From: %s%s%s\r\n",
		    env->sender[0] ? env->sender : env->user,
		    env->sender[0] ? "" : "@", env->sender[0] ? "" :
		    env->hostname);
	if (!have_field(m, "Date"))
		rc |= buf_printf(c, "Date: %s\r\n", date);
	if (!have_field(m, "Message-ID"))
		rc |= buf_printf(c, "Message-ID: %s\r\n", env->msgid);
	rc |= buf_append(c, "\r\n", 2);
	return rc < 0 ? -EMSGSIZE : 0;
}

int sendmail_msg_finish(struct sendmail_msg *m, const struct sendmail_env *env,
    struct sendmail_rcpts *rc, char *err, size_t errlen)
{
	err[0] = '\0';
	if (m->extract && extract_rcpts(m, env, rc, err, errlen) < 0)
		return -EINVAL;
	buf_reset(&m->content);
	if (add_headers(m, env) < 0 ||
	    buf_append(&m->content, m->body.data, m->body.len) < 0)
		return -EMSGSIZE;
	if (m->content.len > m->limit)
		return -EMSGSIZE;
	for (size_t i = 0; i < m->content.len; i++)
		if ((unsigned char)m->content.data[i] >= 0x80) {
			m->eightbit = 1;
			break;
		}
	return 0;
}
