/* sendmail_hdr: addresses for the sendmail command.  Envelope addresses
 * from the command line (-f, recipients) and, with -t, RFC 5322 address
 * lists from To/Cc/Bcc: display names, <angle> addresses, groups
 * ("list: a, b;"), (comments) and "quoted strings" are understood.  Every
 * address is checked with lib/addr and written canonically; a bare user
 * name gets "@hostname" (the local domain of this host). */
#include "queue/sendmail.h"
#include "lib/addr.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

char *sendmail_addr(const char *s, size_t n, const char *hostname,
    int is_sender, int *utf8)
{
	char tmp[ADDR_PATH_MAX + 2], out[ADDR_PATH_MAX + 8];
	struct addr a;
	size_t end;

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n == 0)
		return is_sender ? xstrdup("") : NULL;
	if (memchr(s, '\0', n) != NULL || n > ADDR_PATH_MAX)
		return NULL;
	if (memchr(s, '@', n) == NULL) {
		int w = snprintf(tmp, sizeof(tmp), "%.*s@%s", (int)n, s,
		    hostname);

		if (w < 0 || (size_t)w >= sizeof(tmp))
			return NULL;
		s = tmp;
		n = (size_t)w;
	}
	if (addr_parse_path(s, n, ADDR_ALLOW_UTF8, &a, &end) != ADDR_OK ||
	    end != n || addr_format(&a, out, sizeof(out)) < 0)
		return NULL;
	if (a.has_utf8 && utf8 != NULL)
		*utf8 = 1;
	return xstrdup(out);
}

void sendmail_rcpts_add(struct sendmail_rcpts *rc, char *addr)
{
	for (size_t i = 0; i < rc->n; i++)
		if (strcmp(rc->v[i], addr) == 0) {
			free(addr);
			return;
		}
	rc->v = xreallocarray(rc->v, rc->n + 1, sizeof(*rc->v));
	rc->v[rc->n++] = addr;
}

void sendmail_rcpts_free(struct sendmail_rcpts *rc)
{
	for (size_t i = 0; i < rc->n; i++)
		free(rc->v[i]);
	free(rc->v);
	rc->v = NULL;
	rc->n = 0;
}

/* The scanner's state for one list item. */
struct al {
	struct buf text;	/* the item without comments and blanks */
	struct buf angle;	/* inside <...>, if any */
	int have_angle, in_angle, in_quote, depth, overflow;
};

static int al_emit(struct al *s, const char *hostname,
    struct sendmail_rcpts *rc, int *utf8, char *err, size_t errlen)
{
	struct buf *b = s->have_angle ? &s->angle : &s->text;
	char *a;
	int rcode = 0;

	if (s->overflow) {
		snprintf(err, errlen, "address in header too long");
		rcode = -EINVAL;
	} else if (b->len > 0 || s->have_angle) {
		a = sendmail_addr(b->data ? b->data : "", b->len, hostname, 0,
		    utf8);
		if (a == NULL) {
			snprintf(err, errlen, "bad address in header: %.*s",
			    (int)(b->len > 200 ? 200 : b->len),
			    b->data ? b->data : "");
			rcode = -EINVAL;
		} else {
			sendmail_rcpts_add(rc, a);
		}
	}
	buf_reset(&s->text);
	buf_reset(&s->angle);
	s->have_angle = s->in_angle = 0;
	return rcode;
}

/* One character outside comments: 1 if it ends an item. */
static int al_char(struct al *s, char c)
{
	struct buf *b = s->in_angle ? &s->angle : &s->text;

	if (s->in_quote) {
		if (c == '"')
			s->in_quote = 0;
	} else if (c == '"') {
		s->in_quote = 1;
	} else if (c == '<' && !s->in_angle) {
		s->in_angle = s->have_angle = 1;
		buf_reset(&s->angle);
		return 0;
	} else if (c == '>' && s->in_angle) {
		s->in_angle = 0;
		return 0;
	} else if (!s->in_angle && (c == ',' || c == ';')) {
		return 1;
	} else if (!s->in_angle && c == ':') {
		buf_reset(&s->text);	/* a group's display name */
		return 0;
	} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
		return 0;
	}
	if (buf_append(b, &c, 1) < 0)
		s->overflow = 1;
	return 0;
}

int sendmail_addr_list(const char *v, size_t n, const char *hostname,
    struct sendmail_rcpts *rc, int *utf8, char *err, size_t errlen)
{
	struct al s;
	int rcode = 0;

	memset(&s, 0, sizeof(s));
	buf_init(&s.text, ADDR_PATH_MAX * 4);
	buf_init(&s.angle, ADDR_PATH_MAX * 4);
	for (size_t i = 0; i < n && rcode == 0; i++) {
		char c = v[i];

		if (c == '\\' && i + 1 < n && (s.in_quote || s.depth > 0)) {
			if (s.depth == 0 && buf_append(s.in_angle ? &s.angle :
			    &s.text, v + i, 2) < 0)
				s.overflow = 1;
			i++;
			continue;
		}
		if (!s.in_quote && c == '(') {
			s.depth++;
			continue;
		}
		if (s.depth > 0) {
			if (c == ')')
				s.depth--;
			continue;
		}
		if (al_char(&s, c))
			rcode = al_emit(&s, hostname, rc, utf8, err, errlen);
	}
	if (rcode == 0)
		rcode = al_emit(&s, hostname, rc, utf8, err, errlen);
	buf_free(&s.text);
	buf_free(&s.angle);
	return rcode;
}
