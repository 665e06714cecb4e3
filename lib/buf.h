/* buf: an owned, growable byte buffer with explicit length.  Growth is
 * overflow-checked and fatal on exhaustion.  An optional limit makes
 * appends fail with -EMSGSIZE instead of growing past it, so parsers can
 * bound memory at the boundary. */
#ifndef LIB_BUF_H
#define LIB_BUF_H
#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;	/* 0: unlimited */
};

/* Set up an empty buffer; limit 0 means unlimited. */
void buf_init(struct buf *b, size_t limit);
/* Free the storage; the buffer may be reused after buf_init. */
void buf_free(struct buf *b);
/* Empty the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* Ensure room for n more bytes; -EMSGSIZE past the limit. */
int buf_reserve(struct buf *b, size_t n);
/* Append n bytes; -EMSGSIZE past the limit (nothing appended). */
int buf_append(struct buf *b, const void *p, size_t n);
/* Append a NUL-terminated string. */
int buf_puts(struct buf *b, const char *s);
/* Append formatted text. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* NUL-terminate without counting the NUL in len; returns data. */
const char *buf_cstr(struct buf *b);
/* Double-buffered output, one send in flight: once wire is sent up to
 * *off it is emptied, and a batch collected in out takes its place (out
 * keeps the old storage).  Returns the bytes of wire left from *off; 0:
 * nothing to send. */
size_t buf_flip(struct buf *wire, size_t *off, struct buf *out);
/* Release storage beyond len when the buffer is much larger than needed
 * (keeps idle connections small). */
void buf_shrink(struct buf *b);
#endif
