/* dsn: RFC 3464 reports in an RFC 6522 multipart/report (dsn.h); pure,
 * called by the queue manager.  Peer text (remote replies, host names) is
 * cleaned to one printable ASCII line and folded (<= 998 bytes, no bare CR
 * or LF); returned headers that are not plain 7-bit go quoted-printable;
 * non-ASCII recipients use RFC 6533 utf-8 xtext.  The result is 7-bit but
 * for the To: of a UTF-8 sender (submit with SMTPUTF8), and no line of any
 * part starts with "--", so the boundary cannot occur in the content. */
#include "queue/dsn.h"
#include "lib/date.h"
#include "lib/mem.h"
#include "lib/qid.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DSN_LINE_MAX 990	/* bytes per line we write (RFC 5322: 998) */
#define DSN_FOLD 76		/* fold header fields and text here */
#define DSN_DIAG_MAX 2048	/* bytes of one diagnostic kept */
#define DSN_ADDR_MAX 4096	/* bytes of one address kept */
#define DSN_NAME_MAX 255	/* host names */
#define DSN_QP_LINE 75		/* quoted-printable: 76 with the soft '=' */
#define DSN_BOUNDARY_MAX 70	/* RFC 2046 */

struct dsn_parts {
	struct buf text;	/* human-readable part, body */
	struct buf status;	/* message/delivery-status, body */
	struct buf headers;	/* returned headers, body (encoded) */
	int text_qp, headers_qp, have_headers;
	char host[DSN_NAME_MAX + 1];
};

/* ---- cleaning peer text ---------------------------------------------- */

/* s[0..n) as one line of printable text: controls become spaces, runs of
 * spaces one, both ends trimmed; 8-bit bytes are kept (keep8) or become
 * '?'; at most max bytes ("[...]" marks a cut).  Appended to out. */
static void dsn_clean(struct buf *out, const char *s, size_t n, int keep8,
    size_t max)
{
	size_t start = out->len, i;
	int space = 0;

	for (i = 0; i < n && out->len - start < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = out->len > start;
			continue;
		}
		if (c >= 0x80 && !keep8)
			c = '?';
		if (space)
			buf_append(out, " ", 1);
		space = 0;
		buf_append(out, &c, 1);
	}
	if (i < n)
		buf_puts(out, " [...]");
	buf_cstr(out);
}

/* A host name for our own headers: letters, digits, '.', '-', '_'. */
static int dsn_host(const char *in, char out[DSN_NAME_MAX + 1])
{
	size_t i;

	if (in == NULL || in[0] == '\0')
		return -EINVAL;
	for (i = 0; in[i] != '\0' && i < DSN_NAME_MAX; i++) {
		char c = in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ?
		    c : '-';
	}
	out[i] = '\0';
	return 0;
}

/* ---- header fields ----------------------------------------------------- */

/* Write s[0..n) (cleaned: single spaces, no controls) starting at column
 * col, folding before a space past DSN_FOLD (the line then continues with
 * cont) and cutting a word that would pass DSN_LINE_MAX (continuing with
 * cut).  Ends with CRLF. */
static void dsn_fold(struct buf *b, size_t col, const char *s, size_t n,
    const char *cont, const char *cut)
{
	size_t i = 0, ws, we, take;

	while (i < n) {
		ws = i;
		while (i < n && s[i] == ' ')
			i++;
		while (i < n && s[i] != ' ')
			i++;
		we = i;
		if (ws > 0 && s[ws] == ' ' && col + (we - ws) > DSN_FOLD &&
		    col > strlen(cont) + 1) {
			buf_puts(b, "\r\n");
			buf_puts(b, cont);
			col = strlen(cont);
		}
		while (ws < we) {
			take = DSN_LINE_MAX - col;
			if (take > we - ws)
				take = we - ws;
			buf_append(b, s + ws, take);
			col += take;
			ws += take;
			if (ws < we) {
				buf_puts(b, "\r\n");
				buf_puts(b, cut);
				col = strlen(cut);
			}
		}
	}
	buf_puts(b, "\r\n");
}

/* "Name: value" CRLF, value already clean. */
static void dsn_field(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, "%s: ", name);
	dsn_fold(b, strlen(name) + 2, value, strlen(value), "", " ");
}

/* "Name: type; value" with value cleaned from peer bytes. */
static void dsn_field_peer(struct buf *b, const char *name, const char *type,
    const char *value, size_t max)
{
	struct buf v;

	buf_init(&v, 0);
	buf_printf(&v, "%s; ", type);
	dsn_clean(&v, value, strlen(value), 0, max);
	dsn_field(b, name, v.data);
	buf_free(&v);
}

/* RFC 6533 utf-8-addr-xtext: ASCII printables but '+', '=', '\\' as they
 * are, everything else as \x{HEX} of its code point (U+FFFD for a byte
 * that is not UTF-8). */
static void dsn_xtext(struct buf *b, const char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned cp;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f && c != '+' && c != '=' && c != '\\') {
			buf_append(b, s + i++, 1);
			continue;
		}
		len = utf8_seq_len(s + i, n - i);
		if (len == 0) {
			cp = 0xFFFD;
			len = 1;
		} else if (len == 1) {
			cp = c;
		} else {
			cp = c & (0xFF >> (len + 1));
			for (k = 1; k < len; k++)
				cp = cp << 6 | ((unsigned char)s[i + k] & 0x3F);
		}
		buf_printf(b, cp < 0x100 ? "\\x{%02X}" : "\\x{%X}", cp);
		i += len;
	}
}

/* Final-Recipient: rfc822 for a printable ASCII address (a quoted local
 * part may hold spaces), utf-8 xtext otherwise. */
static void dsn_field_addr(struct buf *b, const char *name, const char *addr)
{
	size_t n = strnlen(addr, DSN_ADDR_MAX), i;
	struct buf v;
	int plain = 1;

	for (i = 0; i < n; i++)
		if ((unsigned char)addr[i] < 0x20 || (unsigned char)addr[i] >= 0x7f)
			plain = 0;
	buf_init(&v, 0);
	if (plain) {
		buf_puts(&v, "rfc822; ");
		buf_append(&v, addr, n);
	} else {
		buf_puts(&v, "utf-8; ");
		dsn_xtext(&v, addr, n);
	}
	buf_cstr(&v);
	dsn_field(b, name, v.data);
	buf_free(&v);
}

/* An enhanced status code "C.S.D" (RFC 3463: class 2, 4 or 5, subject
 * and detail 1-3 digits). */
static int dsn_status_ok(const char *s)
{
	int part, digits;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	s += 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (digits < 1 || digits > 3 || *s != (part == 0 ? '.' : '\0'))
			return 0;
		if (part == 0)
			s++;
	}
	return 1;
}

static const char *dsn_status(const struct dsn_rcpt *r, enum dsn_action a)
{
	if (dsn_status_ok(r->status))
		return r->status;
	return a == DSN_DELAYED ? "4.0.0" : "5.0.0";
}

static void dsn_field_date(struct buf *b, const char *name, time_t t)
{
	char d[64];

	date_rfc5322(t, d, sizeof(d));
	dsn_field(b, name, d);
}

/* ---- the human-readable part ------------------------------------------ */

static const char *const dsn_intro_failed[] = {
	"Your message could not be delivered to one or more of its",
	"recipients.  Each is listed below with the reason; no further",
	"attempts will be made to deliver to them.",
	"",
	"If you need help, forward this report to your postmaster.",
	NULL
};

static const char *const dsn_intro_delayed[] = {
	"This is a warning only: you do not need to send your message again.",
	"",
	"Your message has not been delivered yet to the recipients listed",
	"below, for the reasons given.  Delivery attempts continue; you will",
	"get another report if they fail for good.",
	NULL
};

/* The latest Will-Retry-Until of the recipients (0: none). */
static time_t dsn_retry_until(const struct dsn_rcpt *r, size_t n)
{
	time_t t = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].will_retry_until > t)
			t = r[i].will_retry_until;
	return t;
}

/* "<addr>: host H said: DIAG" folded with an indent. */
static void dsn_text_rcpt(struct buf *b, const struct dsn_rcpt *r,
    enum dsn_action a)
{
	struct buf line;

	buf_init(&line, 0);
	buf_puts(&line, "<");
	dsn_clean(&line, r->addr, strnlen(r->addr, DSN_ADDR_MAX), 1,
	    DSN_ADDR_MAX);
	buf_puts(&line, ">: ");
	if (r->remote_mta != NULL && r->remote_mta[0] != '\0') {
		buf_puts(&line, "host ");
		dsn_clean(&line, r->remote_mta, strlen(r->remote_mta), 0,
		    DSN_NAME_MAX);
		buf_puts(&line, " said: ");
	}
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0')
		dsn_clean(&line, r->diagnostic, strlen(r->diagnostic), 0,
		    DSN_DIAG_MAX);
	else
		buf_printf(&line, "delivery %s (status %s)",
		    a == DSN_DELAYED ? "delayed" : "failed", dsn_status(r, a));
	buf_cstr(&line);
	dsn_fold(b, 0, line.data, line.len, "   ", "    ");
	buf_puts(b, "\r\n");
	buf_free(&line);
}

static void dsn_text_part(struct dsn_parts *pt, const struct dsn_rcpt *r,
    size_t n, const struct dsn_params *p)
{
	const char *const *intro = p->action == DSN_DELAYED ?
	    dsn_intro_delayed : dsn_intro_failed;
	struct buf *b = &pt->text;
	time_t until = dsn_retry_until(r, n);
	char d[64];
	size_t i;

	buf_printf(b, "This is the mail delivery system at %s.\r\n\r\n",
	    pt->host);
	for (i = 0; intro[i] != NULL; i++)
		buf_printf(b, "%s\r\n", intro[i]);
	if (p->action == DSN_DELAYED && until != 0) {
		date_rfc5322(until, d, sizeof(d));
		buf_printf(b, "The last attempt will be made by %s.\r\n", d);
	}
	buf_puts(b, "\r\n");
	for (i = 0; i < n; i++)
		dsn_text_rcpt(b, &r[i], p->action);
	if (pt->have_headers)
		buf_puts(b, "The headers of your message are attached.\r\n");
	for (i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] >= 0x80)
			pt->text_qp = 1;
}

/* ---- message/delivery-status ------------------------------------------ */

static void dsn_status_part(struct dsn_parts *pt, const struct queue_msg *m,
    const struct dsn_rcpt *r, size_t n, const struct dsn_params *p)
{
	struct buf *b = &pt->status;
	char qid[QID_LEN + 1];
	size_t i;

	buf_printf(b, "Reporting-MTA: dns; %s\r\n", pt->host);
	qid_format(m->qid, qid);
	dsn_field(b, "X-Queue-ID", qid);
	dsn_field_addr(b, "X-Sender", m->sender);
	dsn_field_date(b, "Arrival-Date", (time_t)(m->arrival_us / 1000000));
	for (i = 0; i < n; i++) {
		buf_puts(b, "\r\n");
		dsn_field_addr(b, "Final-Recipient", r[i].addr);
		dsn_field(b, "Action",
		    p->action == DSN_DELAYED ? "delayed" : "failed");
		dsn_field(b, "Status", dsn_status(&r[i], p->action));
		if (r[i].remote_mta != NULL && r[i].remote_mta[0] != '\0')
			dsn_field_peer(b, "Remote-MTA", "dns", r[i].remote_mta,
			    DSN_NAME_MAX);
		if (r[i].diagnostic != NULL && r[i].diagnostic[0] != '\0')
			dsn_field_peer(b, "Diagnostic-Code", "smtp",
			    r[i].diagnostic, DSN_DIAG_MAX);
		if (r[i].last_attempt != 0)
			dsn_field_date(b, "Last-Attempt-Date", r[i].last_attempt);
		if (p->action == DSN_DELAYED && r[i].will_retry_until != 0)
			dsn_field_date(b, "Will-Retry-Until",
			    r[i].will_retry_until);
	}
}

/* ---- the returned headers ---------------------------------------------- */

/* Length of the header section of c[0..n): through the line end before
 * the first empty line, or everything if there is none. */
static size_t dsn_header_len(const char *c, size_t n)
{
	const char *nl;

	if ((n >= 2 && c[0] == '\r' && c[1] == '\n') || (n >= 1 && c[0] == '\n'))
		return 0;
	for (nl = c; (nl = memchr(nl, '\n', n - (size_t)(nl - c))) != NULL;
	    nl++) {
		size_t rest = n - (size_t)(nl - c) - 1;

		if ((rest >= 1 && nl[1] == '\n') ||
		    (rest >= 2 && nl[1] == '\r' && nl[2] == '\n'))
			return (size_t)(nl - c) + 1;
	}
	return n;
}

/* 1 if s[0..n) can go out as it is: 7-bit, no NUL, CRLF line ends only,
 * lines within DSN_LINE_MAX, ending in CRLF, no line starting with '-'
 * (so no line can be a boundary delimiter). */
static int dsn_plain(const char *s, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
			col = 0;
			i++;
			continue;
		}
		if (c == 0 || c >= 0x80 || c == '\r' || c == '\n' ||
		    (col == 0 && c == '-') || ++col > DSN_LINE_MAX)
			return 0;
	}
	return n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n';
}

/* One byte in quoted-printable at column col (eol: a line break or the
 * end follows it) into enc; returns its length. */
static size_t dsn_qp_byte(unsigned char c, size_t col, int eol, char enc[3])
{
	static const char hex[] = "0123456789ABCDEF";

	if ((c > 32 && c < 127 && c != '=' && !(c == '-' && col == 0)) ||
	    ((c == ' ' || c == '\t') && !eol)) {
		enc[0] = (char)c;
		return 1;
	}
	enc[0] = '=';
	enc[1] = hex[c >> 4];
	enc[2] = hex[c & 15];
	return 3;
}

/* Quoted-printable (RFC 2045 6.7) of s[0..n): CRLF pairs are line breaks,
 * everything else is data; '-' at the start of a line is encoded too, so
 * no encoded line can be a boundary delimiter.  Ends with CRLF. */
static void dsn_qp(struct buf *b, const char *s, size_t n)
{
	size_t i, col = 0, len;
	char enc[3];
	int eol;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			buf_puts(b, "\r\n");
			col = 0;
			i++;
			continue;
		}
		eol = i + 1 == n ||
		    (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n');
		len = dsn_qp_byte((unsigned char)s[i], col, eol, enc);
		if (col + len > DSN_QP_LINE) {
			buf_puts(b, "=\r\n");
			col = 0;
			len = dsn_qp_byte((unsigned char)s[i], col, eol, enc);
		}
		buf_append(b, enc, len);
		col += len;
	}
	if (col > 0)
		buf_puts(b, "\r\n");
}

/* The original's headers, at most max_returned bytes (cut at a line end
 * when there is one), as they are or quoted-printable. */
static void dsn_headers_part(struct dsn_parts *pt, const char *c, size_t n,
    size_t max)
{
	size_t len = n > 0 ? dsn_header_len(c, n) : 0;
	const char *nl;

	if (len > max) {
		len = max;
		nl = len > 0 ? memrchr(c, '\n', len) : NULL;
		if (nl != NULL)
			len = (size_t)(nl - c) + 1;
	}
	pt->have_headers = len > 0;
	if (len == 0)
		return;
	if (dsn_plain(c, len)) {
		buf_append(&pt->headers, c, len);
	} else {
		pt->headers_qp = 1;
		dsn_qp(&pt->headers, c, len);
	}
}

/* ---- the message ------------------------------------------------------ */

/* The letters and digits of the seed (at most 32), or "dsn". */
static void dsn_seed(const struct dsn_params *p, char out[33])
{
	const char *s = p->boundary_seed != NULL ? p->boundary_seed : "";
	size_t k = 0;

	for (; *s != '\0' && k < 32; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9'))
			out[k++] = *s;
	out[k] = '\0';
	if (k == 0)
		memcpy(out, "dsn", 4);
}

static void dsn_top_headers(struct buf *b, const struct dsn_parts *pt,
    const struct queue_msg *m, const struct dsn_params *p,
    const char *seed, const char *boundary)
{
	struct buf to;
	char d[64];

	buf_printf(b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    pt->host);
	buf_init(&to, 0);
	buf_puts(&to, "<");
	dsn_clean(&to, m->sender, strnlen(m->sender, DSN_ADDR_MAX), 1,
	    DSN_ADDR_MAX);
	buf_puts(&to, ">");
	buf_cstr(&to);
	dsn_field(b, "To", to.data);
	buf_free(&to);
	buf_printf(b, "Subject: %s\r\n", p->action == DSN_DELAYED ?
	    "Delayed Mail (still being retried)" :
	    "Undelivered Mail Returned to Sender");
	date_rfc5322(p->now, d, sizeof(d));
	buf_printf(b, "Date: %s\r\n", d);
	buf_printf(b, "Message-ID: <%s.%lld.%s@%s>\r\n", seed, (long long)p->now,
	    p->action == DSN_DELAYED ? "delay" : "bounce", pt->host);
	buf_puts(b, "MIME-Version: 1.0\r\n");
	buf_puts(b, "Auto-Submitted: auto-replied\r\n");
	buf_printf(b, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n", boundary);
	buf_puts(b, "\r\nThis is a MIME-encapsulated message.\r\n");
}

/* Headers and bodies of the parts, between the delimiters.  No line of
 * any part starts with "--" (our own lines never do; peer text is
 * cleaned, folded with leading spaces, or quoted-printable), so the
 * boundary cannot occur as a delimiter inside. */
static void dsn_assemble(struct buf *b, const struct dsn_parts *pt,
    const char *boundary)
{
	buf_printf(b, "\r\n--%s\r\n", boundary);
	buf_printf(b, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=%s\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n",
	    pt->text_qp ? "utf-8" : "us-ascii",
	    pt->text_qp ? "quoted-printable" : "7bit");
	buf_append(b, pt->text.data, pt->text.len);
	buf_printf(b, "\r\n--%s\r\n", boundary);
	buf_puts(b, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	buf_append(b, pt->status.data, pt->status.len);
	if (pt->have_headers) {
		buf_printf(b, "\r\n--%s\r\n", boundary);
		buf_printf(b, "Content-Description: Undelivered Message "
		    "Headers\r\nContent-Type: text/rfc822-headers\r\n"
		    "Content-Transfer-Encoding: %s\r\n\r\n",
		    pt->headers_qp ? "quoted-printable" : "7bit");
		buf_append(b, pt->headers.data, pt->headers.len);
	}
	buf_printf(b, "\r\n--%s--\r\n", boundary);
}

/* What dsn_build refuses: nothing to report, no one to report to. */
static int dsn_args_ok(const struct queue_msg *orig, const char *content,
    size_t len, const struct dsn_rcpt *rcpts, size_t n,
    const struct dsn_params *p)
{
	size_t i;

	if (orig == NULL || rcpts == NULL || n == 0 || p == NULL ||
	    orig->sender == NULL || orig->sender[0] == '\0' ||
	    (content == NULL && len > 0))
		return 0;
	for (i = 0; i < n; i++)
		if (rcpts[i].addr == NULL)
			return 0;
	return 1;
}

int dsn_build(struct buf *out, const struct queue_msg *orig,
    const char *orig_content, size_t orig_len, const struct dsn_rcpt *rcpts,
    size_t n, const struct dsn_params *p)
{
	char seed[33], boundary[DSN_BOUNDARY_MAX + 1];
	struct dsn_parts pt;
	struct buf msg;
	int rc;

	memset(&pt, 0, sizeof(pt));
	if (!dsn_args_ok(orig, orig_content, orig_len, rcpts, n, p) ||
	    dsn_host(p->reporting_mta, pt.host) < 0)
		return -EINVAL;
	buf_init(&pt.text, 0);
	buf_init(&pt.status, 0);
	buf_init(&pt.headers, 0);
	buf_init(&msg, 0);
	dsn_headers_part(&pt, orig_content, orig_len, p->max_returned);
	dsn_text_part(&pt, rcpts, n, p);
	if (pt.text_qp) {
		struct buf enc;

		buf_init(&enc, 0);
		dsn_qp(&enc, pt.text.data, pt.text.len);
		buf_free(&pt.text);
		pt.text = enc;
	}
	dsn_status_part(&pt, orig, rcpts, n, p);
	dsn_seed(p, seed);
	snprintf(boundary, sizeof(boundary), "=_%s.%lld", seed,
	    (long long)p->now);
	dsn_top_headers(&msg, &pt, orig, p, seed, boundary);
	dsn_assemble(&msg, &pt, boundary);
	rc = buf_append(out, msg.data, msg.len);
	buf_free(&msg);
	buf_free(&pt.text);
	buf_free(&pt.status);
	buf_free(&pt.headers);
	return rc < 0 ? -EMSGSIZE : 0;
}
