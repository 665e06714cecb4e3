/* buf: growable byte buffers; see buf.h. */
#include "lib/buf.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t need = size_add(b->len, n), cap;

	if (b->limit && need > b->limit)
		return -EMSGSIZE;
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1)
		cap = size_add(cap, cap);
	if (b->limit && cap > b->limit + 1)
		cap = b->limit + 1;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = buf_reserve(b, n)) < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Formatted straight into the spare room; only a text that does not fit
 * is formatted twice (once more after growing). */
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < room) {
		b->len += (size_t)n;	/* cap <= limit + 1: within the limit */
		return 0;
	}
	if ((rc = buf_reserve(b, (size_t)n)) < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

const char *buf_cstr(struct buf *b)
{
	if (buf_reserve(b, 0) < 0 || b->data == NULL) {
		/* At the limit with no spare byte: reserve() keeps one. */
		if (b->data == NULL)
			return "";
	}
	b->data[b->len] = '\0';
	return b->data;
}

size_t buf_flip(struct buf *wire, size_t *off, struct buf *out)
{
	struct buf tmp;

	if (*off == wire->len) {
		buf_reset(wire);
		*off = 0;
		if (out->len == 0)
			return 0;
		tmp = *wire;
		*wire = *out;
		*out = tmp;
	}
	return wire->len - *off;
}

void buf_shrink(struct buf *b)
{
	if (b->len == 0) {
		buf_free(b);
		return;
	}
	if (b->cap > 4096 && b->len < b->cap / 4) {
		b->data = xreallocarray(b->data, b->len + 1, 1);
		b->cap = b->len + 1;
	}
}
