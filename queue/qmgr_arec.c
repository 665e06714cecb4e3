/* qmgr_arec: validation of the records a delivery agent sends (HELLO,
 * RCPT, DONE of docs/delivery-protocol.md).  An agent is a less
 * privileged peer: every attribute is checked for presence, uniqueness,
 * length and syntax, unknown attributes are refused, and texts headed for
 * the log are made single-line printable.  Pure; the caller checks the
 * record against the agent's state (which jobs it holds). */
#include "queue/qmgr.h"
#include "lib/mem.h"

#include <stdio.h>

static int arec_is(const char *v, uint32_t n, const char *s)
{
	return n == strlen(s) && memcmp(v, s, n) == 0;
}

/* Canonical decimal (no sign, no leading zero) of at most max. */
static int arec_number(const char *v, uint32_t n, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 10 || (n > 1 && v[0] == '0'))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > max)
		return -1;
	*out = x;
	return 0;
}

/* "C.SSS.DDD": class digit, then 1-3 digits twice (RFC 3463). */
static int arec_dsn(const char *v, uint32_t n, char cls, char *out)
{
	uint32_t i = 2, start;

	if (n < 5 || n > QM_DSN_CODE_MAX || v[0] != cls || v[1] != '.')
		return -1;
	for (int part = 0; part < 2; part++) {
		start = i;
		while (i < n && v[i] >= '0' && v[i] <= '9' && i - start < 3)
			i++;
		if (i == start)
			return -1;
		if (part == 0 && (i >= n || v[i++] != '.'))
			return -1;
	}
	if (i != n)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/* A one-line text for logs and DSNs: no NUL, CR or LF; other control
 * bytes become spaces. */
static int arec_text(const char *v, uint32_t n, size_t max, char *out)
{
	if (n > max)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\0' || c == '\r' || c == '\n')
			return -1;
		out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[n] = '\0';
	return 0;
}

static const char *arec_hello(struct qm_arec *r, uint16_t tag, const char *v,
    uint32_t n, unsigned *seen)
{
	uint64_t x;

	if (tag == IPC_A_KIND) {
		if (*seen & 1)
			return "duplicate KIND";
		*seen |= 1;
		if (arec_is(v, n, "remote"))
			r->kind = QM_KIND_REMOTE;
		else if (arec_is(v, n, "local"))
			r->kind = QM_KIND_LOCAL;
		else
			return "bad KIND";
		return NULL;
	}
	if (tag == IPC_A_SLOTS) {
		if (*seen & 2)
			return "duplicate SLOTS";
		*seen |= 2;
		if (arec_number(v, n, QM_AGENT_SLOTS_MAX, &x) < 0 || x == 0)
			return "bad SLOTS";
		r->slots = (unsigned)x;
		return NULL;
	}
	return "unknown HELLO attribute";
}

static const char *arec_class(struct qm_arec *r, const char *v, uint32_t n)
{
	if (arec_is(v, n, "sent"))
		r->cls = QM_CLS_SENT;
	else if (arec_is(v, n, "deferred"))
		r->cls = QM_CLS_DEFERRED;
	else if (arec_is(v, n, "bounced"))
		r->cls = QM_CLS_BOUNCED;
	else
		return "bad CLASS";
	return NULL;
}

static const char *arec_rcpt(struct qm_arec *r, uint16_t tag, const char *v,
    uint32_t n, unsigned *seen, const char **dsn, uint32_t *dsnlen)
{
	static const uint16_t tags[] = { IPC_A_RCPT_IDX, IPC_A_CLASS,
	    IPC_A_DSN, IPC_A_RELAY, IPC_A_TEXT };
	unsigned bit = 0;
	uint64_t x;

	for (unsigned i = 0; i < ARRAY_LEN(tags); i++)
		if (tags[i] == tag)
			bit = 1u << i;
	if (bit == 0)
		return "unknown RCPT attribute";
	if (*seen & bit)
		return "duplicate RCPT attribute";
	*seen |= bit;
	switch (tag) {
	case IPC_A_RCPT_IDX:
		if (arec_number(v, n, UINT32_MAX - 1, &x) < 0)
			return "bad RCPT_IDX";
		r->idx = (uint32_t)x;
		return NULL;
	case IPC_A_CLASS:
		return arec_class(r, v, n);
	case IPC_A_DSN:
		*dsn = v, *dsnlen = n;	/* checked against CLASS below */
		return NULL;
	case IPC_A_RELAY:
		return n == 0 || arec_text(v, n, QM_RELAY_MAX, r->relay) < 0 ||
		    strchr(r->relay, ' ') != NULL ? "bad RELAY" : NULL;
	default:
		return arec_text(v, n, QM_TEXT_MAX, r->text) < 0 ?
		    "bad TEXT" : NULL;
	}
}

const char *qm_arec_parse(const struct ipc_msg *m, struct qm_arec *r)
{
	static const char cls_digit[] = { '2', '4', '5' };
	const char *why = NULL, *dsn = NULL, *v;
	struct ipc_iter it;
	unsigned seen = 0;
	uint32_t n, dsnlen = 0;
	uint16_t tag;
	int rc;

	memset(r, 0, sizeof(*r));
	r->type = m->hdr.type;
	r->id = m->hdr.id;
	snprintf(r->relay, sizeof(r->relay), "none");
	if (m->hdr.flags != 0)
		return "nonzero flags";
	if (m->hdr.len > QM_AGENT_REC_MAX)
		return "record too long";
	if (r->type != IPC_AG_HELLO && r->type != IPC_AG_RCPT &&
	    r->type != IPC_AG_DONE)
		return "unexpected record type";
	ipc_iter_init(&it, m);
	while (why == NULL && (rc = ipc_next(&it, &tag, &v, &n)) == 1) {
		if (r->type == IPC_AG_HELLO)
			why = arec_hello(r, tag, v, n, &seen);
		else if (r->type == IPC_AG_RCPT)
			why = arec_rcpt(r, tag, v, n, &seen, &dsn, &dsnlen);
		else
			why = "DONE with attributes";
	}
	if (why != NULL)
		return why;
	if (rc < 0)
		return "malformed attributes";
	if (r->type == IPC_AG_HELLO)
		return seen == 3 ? NULL : "HELLO without KIND or SLOTS";
	if (r->type == IPC_AG_RCPT) {
		if ((seen & 7) != 7)
			return "RCPT without RCPT_IDX, CLASS or DSN";
		if (arec_dsn(dsn, dsnlen, cls_digit[r->cls], r->dsn) < 0)
			return "bad DSN for its CLASS";
	}
	return NULL;
}
