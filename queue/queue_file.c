/* queue_file: encoding and strict decoding of the queue file format (see
 * queue_file.h and docs/queue-format.md).  Used by the queue writer, the
 * recovery code and the tools.  The decoder trusts no length: every field is
 * bounded, the content length must match the file size exactly, and the
 * CRC (status fields replaced by a placeholder) must match the trailer. */
#include "queue/queue_file.h"
#include "lib/crc32c.h"
#include "lib/mem.h"
#include "lib/numfmt.h"
#include "lib/qid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define QF_STATUS_PLAIN 12	/* "S NNNNNNNNNN" covered by the field check */

/* ---- encoding ---------------------------------------------------------- */

void queue_file_status_field(char status, uint64_t next_attempt,
    char out[QUEUE_STATUS_LEN + 1])
{
	uint32_t c;

	if (next_attempt > QUEUE_NEXT_MAX)
		next_attempt = QUEUE_NEXT_MAX;
	out[0] = status;			/* "S NNNNNNNNNN CCCCCCCC" */
	out[1] = ' ';
	fmt_dec(out + 2, next_attempt, 10);
	c = crc32c(0, out, QF_STATUS_PLAIN);
	out[QF_STATUS_PLAIN] = ' ';
	fmt_hex(out + QF_STATUS_PLAIN + 1, c, 8);
}

/* The field every status is replaced by for the file CRC: a new recipient's,
 * so a freshly written file's CRC is a plain CRC of its bytes. */
static const char *qf_placeholder(void)
{
	static char ph[QUEUE_STATUS_LEN + 1];

	if (ph[0] == '\0')
		queue_file_status_field(QUEUE_RCPT_PENDING, 0, ph);
	return ph;
}

static int qf_escape_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '%';
}

/* Append s, percent-escaping control bytes and '%'. */
static int qf_put_value(struct buf *out, const char *s)
{
	size_t n = strlen(s), run = 0;
	int rc = 0;

	if (n > QUEUE_FIELD_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!qf_escape_byte((unsigned char)s[i])) {
			run++;
			continue;
		}
		rc = buf_append(out, s + i - run, run);
		run = 0;
		if (rc == 0)
			rc = buf_printf(out, "%%%02X", (unsigned char)s[i]);
	}
	if (rc == 0)
		rc = buf_append(out, s + n - run, run);
	return rc;
}

static int qf_put_field(struct buf *out, const char *key, const char *val,
    const char *open, const char *close)
{
	int rc;

	if ((rc = buf_printf(out, "%s %s", key, open)) < 0 ||
	    (rc = qf_put_value(out, val)) < 0)
		return rc;
	return buf_printf(out, "%s\n", close);
}

/* The origins of docs/queue-format.md: smtp, sendmail, qmgr (DSNs). */
static int qf_origin_ok(const char *o)
{
	return o != NULL && (strcmp(o, "smtp") == 0 ||
	    strcmp(o, "sendmail") == 0 || strcmp(o, "qmgr") == 0);
}

static int qf_check_msg(const struct queue_msg *m)
{
	if (m->nrcpt == 0 || !qf_origin_ok(m->origin) ||
	    m->body == NULL || m->body[0] == '\0' || m->sender == NULL ||
	    m->uid < -1 || m->uid > (int64_t)UINT32_MAX ||
	    (m->content_len > 0 && m->content == NULL))
		return -EINVAL;
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct queue_rcpt *r = &m->rcpts[i];

		if (r->addr == NULL || r->addr[0] == '\0' ||
		    r->next_attempt > QUEUE_NEXT_MAX ||
		    (r->status != QUEUE_RCPT_PENDING &&
		    r->status != QUEUE_RCPT_DONE &&
		    r->status != QUEUE_RCPT_BOUNCED))
			return -EINVAL;
	}
	return 0;
}

static int qf_put_envelope(const struct queue_msg *m, struct buf *out)
{
	char id[QID_LEN + 1];
	int rc;

	qid_format(m->qid, id);
	if ((rc = buf_printf(out, "%sid %s\narrival %" PRIu64 "\n",
	    QUEUE_FILE_MAGIC, id, m->arrival_us)) < 0 ||
	    (rc = qf_put_field(out, "origin", m->origin, "", "")) < 0 ||
	    (rc = qf_put_field(out, "client", m->client ? m->client : "", "",
	    "")) < 0 ||
	    (rc = qf_put_field(out, "helo", m->helo ? m->helo : "", "", "")) < 0)
		return rc;
	if (m->uid < 0)
		rc = buf_puts(out, "uid -\n");
	else
		rc = buf_printf(out, "uid %" PRId64 "\n", m->uid);
	if (rc < 0 ||
	    (rc = qf_put_field(out, "sender", m->sender, "<", ">")) < 0 ||
	    (rc = qf_put_field(out, "body", m->body, "", "")) < 0)
		return rc;
	return buf_printf(out, "smtputf8 %d\n", m->smtputf8 ? 1 : 0);
}

/* The head; offs (if not NULL) receives each status field's offset
 * relative to the start of the head. */
static int qf_encode_head(const struct queue_msg *m, struct buf *out,
    size_t *offs)
{
	size_t start = out->len;
	int rc;

	if ((rc = qf_check_msg(m)) < 0 || (rc = qf_put_envelope(m, out)) < 0)
		return rc;
	for (size_t i = 0; i < m->nrcpt; i++) {
		char field[QUEUE_STATUS_LEN + 1];

		queue_file_status_field(m->rcpts[i].status,
		    m->rcpts[i].next_attempt, field);
		if ((rc = buf_puts(out, "rcpt ")) < 0)
			return rc;
		if (offs != NULL)
			offs[i] = out->len - start;
		if ((rc = buf_puts(out, field)) < 0 ||
		    (rc = qf_put_field(out, "", m->rcpts[i].addr, "<", ">")) < 0)
			return rc;
	}
	return buf_printf(out, "content %zu\n", m->content_len);
}

int queue_file_encode_head(const struct queue_msg *m, struct buf *out)
{
	size_t start = out->len;
	int rc = qf_encode_head(m, out, NULL);

	if (rc < 0)
		out->len = start;
	return rc;
}

void queue_file_trailer(uint32_t crc, char out[QUEUE_TRAILER_LEN + 1])
{
	snprintf(out, QUEUE_TRAILER_LEN + 1, "end %08" PRIX32 "\n", crc);
}

/* CRC of p[0..n) with the QUEUE_STATUS_LEN bytes at each offs[i] (sorted)
 * replaced by the placeholder. */
static uint32_t qf_crc(const char *p, size_t n, const size_t *offs,
    size_t noffs)
{
	const char *ph = qf_placeholder();
	uint32_t crc = 0;
	size_t at = 0;

	for (size_t i = 0; i < noffs; i++) {
		crc = crc32c(crc, p + at, offs[i] - at);
		crc = crc32c(crc, ph, QUEUE_STATUS_LEN);
		at = offs[i] + QUEUE_STATUS_LEN;
	}
	return crc32c(crc, p + at, n - at);
}

int queue_file_encode(const struct queue_msg *m, struct buf *out)
{
	char trailer[QUEUE_TRAILER_LEN + 1];
	size_t start = out->len, *offs;
	uint32_t crc;
	int rc;

	if (m->nrcpt == 0)
		return -EINVAL;
	offs = xreallocarray(NULL, m->nrcpt, sizeof(*offs));
	rc = qf_encode_head(m, out, offs);
	if (rc == 0) {
		crc = qf_crc(out->data + start, out->len - start, offs,
		    m->nrcpt);
		crc = crc32c(crc, m->content, m->content_len);
		queue_file_trailer(crc, trailer);
		if ((rc = buf_append(out, m->content, m->content_len)) == 0)
			rc = buf_append(out, trailer, QUEUE_TRAILER_LEN);
	}
	free(offs);
	if (rc < 0)
		out->len = start;
	return rc;
}

/* ---- decoding ---------------------------------------------------------- */

struct qf_rd {
	const char *p;
	size_t end;		/* end of the header region */
	size_t off;
};

static int qf_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The next line "key VALUE\n"; VALUE (raw, escaped) into val and vlen. */
static int qf_line(struct qf_rd *r, const char *key, const char **val,
    size_t *vlen)
{
	size_t klen = strlen(key), rem = r->end - r->off;
	const char *s = r->p + r->off, *nl;

	if (rem < klen + 2 || memcmp(s, key, klen) != 0 || s[klen] != ' ')
		return -EBADMSG;
	nl = memchr(s + klen + 1, '\n', rem - klen - 1);
	if (nl == NULL)
		return -EBADMSG;
	*val = s + klen + 1;
	*vlen = (size_t)(nl - *val);
	r->off += klen + 1 + *vlen + 1;
	return 0;
}

/* Unescape v[0..n) into a new string; canonical escapes only. */
static int qf_unescape(const char *v, size_t n, char **out)
{
	char *s = xmalloc(size_add(n, 1));
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		int h, l;

		if (c == '%') {
			if (n - i < 3 || (h = qf_hex(v[i + 1])) < 0 ||
			    (l = qf_hex(v[i + 2])) < 0)
				goto bad;
			c = (unsigned char)(h << 4 | l);
			if (c == 0 || !qf_escape_byte(c))
				goto bad;
			i += 2;
		} else if (qf_escape_byte(c)) {
			goto bad;
		}
		s[o++] = (char)c;
	}
	if (o > QUEUE_FIELD_MAX)
		goto bad;
	s[o] = '\0';
	*out = s;
	return 0;
bad:
	free(s);
	return -EBADMSG;
}

/* A field "key VALUE" or, with brackets, "key <VALUE>". */
static int qf_field(struct qf_rd *r, const char *key, int brackets,
    char **out)
{
	const char *v;
	size_t n;

	if (qf_line(r, key, &v, &n) < 0)
		return -EBADMSG;
	if (brackets) {
		if (n < 2 || v[0] != '<' || v[n - 1] != '>')
			return -EBADMSG;
		v++;
		n -= 2;
	}
	return qf_unescape(v, n, out);
}

/* Canonical decimal (no sign, no leading zero) of at most max. */
static int qf_number(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 20 || (n > 1 && v[0] == '0'))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' ||
		    __builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(v[i] - '0'), &x))
			return -EBADMSG;
	}
	if (x > max)
		return -EBADMSG;
	*out = x;
	return 0;
}

static int qf_num_line(struct qf_rd *r, const char *key, uint64_t max,
    uint64_t *out)
{
	const char *v;
	size_t n;

	if (qf_line(r, key, &v, &n) < 0)
		return -EBADMSG;
	return qf_number(v, n, max, out);
}

static int qf_envelope(struct qf_rd *r, struct queue_msg *m)
{
	char id[QID_LEN + 1];
	const char *v;
	size_t n;
	uint64_t x;

	if (qf_line(r, "id", &v, &n) < 0 || n != QID_LEN)
		return -EBADMSG;
	memcpy(id, v, QID_LEN);
	id[QID_LEN] = '\0';
	if (qid_parse(id, &m->qid) < 0 ||
	    qf_num_line(r, "arrival", UINT64_MAX, &m->arrival_us) < 0 ||
	    qf_field(r, "origin", 0, &m->origin) < 0 || !qf_origin_ok(m->origin) ||
	    qf_field(r, "client", 0, &m->client) < 0 ||
	    qf_field(r, "helo", 0, &m->helo) < 0 ||
	    qf_line(r, "uid", &v, &n) < 0)
		return -EBADMSG;
	if (n == 1 && v[0] == '-')
		m->uid = -1;
	else if (qf_number(v, n, UINT32_MAX, &x) == 0)
		m->uid = (int64_t)x;
	else
		return -EBADMSG;
	if (qf_field(r, "sender", 1, &m->sender) < 0 ||
	    qf_field(r, "body", 0, &m->body) < 0 || m->body[0] == '\0' ||
	    qf_num_line(r, "smtputf8", 1, &x) < 0)
		return -EBADMSG;
	m->smtputf8 = (int)x;
	return 0;
}

/* Validate a status field at s and fill r. */
static int qf_status(const char *s, struct queue_rcpt *r)
{
	char want[QUEUE_STATUS_LEN + 1];
	uint64_t next = 0;

	if (s[0] != QUEUE_RCPT_PENDING && s[0] != QUEUE_RCPT_DONE &&
	    s[0] != QUEUE_RCPT_BOUNCED)
		return -EBADMSG;
	if (s[1] != ' ')
		return -EBADMSG;
	for (int i = 2; i < QF_STATUS_PLAIN; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		next = next * 10 + (uint64_t)(s[i] - '0');
	}
	queue_file_status_field(s[0], next, want);
	if (memcmp(s, want, QUEUE_STATUS_LEN) != 0)
		return -EBADMSG;
	r->status = s[0];
	r->next_attempt = next;
	return 0;
}

static int qf_rcpt(struct qf_rd *r, struct queue_rcpt *rc)
{
	const char *v;
	size_t n;

	if (qf_line(r, "rcpt", &v, &n) < 0 || n < QUEUE_STATUS_LEN + 4 ||
	    v[QUEUE_STATUS_LEN] != ' ' || v[QUEUE_STATUS_LEN + 1] != '<' ||
	    v[n - 1] != '>')
		return -EBADMSG;
	if (qf_status(v, rc) < 0)
		return -EBADMSG;
	rc->status_off = (size_t)(v - r->p);
	if (qf_unescape(v + QUEUE_STATUS_LEN + 2, n - QUEUE_STATUS_LEN - 3,
	    &rc->addr) < 0)
		return -EBADMSG;
	return rc->addr[0] == '\0' ? -EBADMSG : 0;
}

static int qf_rcpts(struct qf_rd *r, struct queue_msg *m)
{
	size_t cap = 0;

	while (r->end - r->off > 5 && memcmp(r->p + r->off, "rcpt ", 5) == 0) {
		if (m->nrcpt == cap) {
			cap = cap ? cap * 2 : 4;
			m->rcpts = xreallocarray(m->rcpts, cap, sizeof(*m->rcpts));
		}
		memset(&m->rcpts[m->nrcpt], 0, sizeof(m->rcpts[0]));
		m->nrcpt++;
		if (qf_rcpt(r, &m->rcpts[m->nrcpt - 1]) < 0)
			return -EBADMSG;
	}
	return m->nrcpt > 0 ? 0 : -EBADMSG;
}

/* The trailer's CRC, from the last QUEUE_TRAILER_LEN bytes. */
static int qf_trailer(const char *t, uint32_t *crc)
{
	uint32_t c = 0;

	if (memcmp(t, "end ", 4) != 0 || t[QUEUE_TRAILER_LEN - 1] != '\n')
		return -EBADMSG;
	for (int i = 4; i < 12; i++) {
		int h = qf_hex(t[i]);

		if (h < 0)
			return -EBADMSG;
		c = c << 4 | (uint32_t)h;
	}
	*crc = c;
	return 0;
}

static int qf_decode(const char *data, size_t len, struct queue_msg *m)
{
	struct qf_rd r = { data, 0, QUEUE_FILE_MAGIC_LEN };
	size_t *offs;
	uint64_t clen;
	uint32_t want, crc;

	if (len < QUEUE_FILE_MAGIC_LEN + QUEUE_TRAILER_LEN ||
	    memcmp(data, QUEUE_FILE_MAGIC, QUEUE_FILE_MAGIC_LEN) != 0 ||
	    qf_trailer(data + len - QUEUE_TRAILER_LEN, &want) < 0)
		return -EBADMSG;
	r.end = len - QUEUE_TRAILER_LEN;
	if (qf_envelope(&r, m) < 0 || qf_rcpts(&r, m) < 0 ||
	    qf_num_line(&r, "content", r.end - r.off, &clen) < 0 ||
	    clen != r.end - r.off)
		return -EBADMSG;
	m->content_off = r.off;
	m->content = data + r.off;
	m->content_len = (size_t)clen;
	offs = xreallocarray(NULL, m->nrcpt, sizeof(*offs));
	for (size_t i = 0; i < m->nrcpt; i++)
		offs[i] = m->rcpts[i].status_off;
	crc = qf_crc(data, r.end, offs, m->nrcpt);
	free(offs);
	return crc == want ? 0 : -EBADMSG;
}

int queue_file_decode(const char *data, size_t len, struct queue_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (data == NULL || qf_decode(data, len, m) < 0) {
		queue_msg_free(m);
		return -EBADMSG;
	}
	return 0;
}

void queue_msg_free(struct queue_msg *m)
{
	free(m->origin);
	free(m->client);
	free(m->helo);
	free(m->sender);
	free(m->body);
	for (size_t i = 0; i < m->nrcpt; i++)
		free(m->rcpts[i].addr);
	free(m->rcpts);
	memset(m, 0, sizeof(*m));
}
