/* tabfile: reading the small line-oriented table files (transport_file,
 * aliases_file, users_file).  The text is bounded before a parser looks
 * at it (the whole file, each line, no NUL bytes), and every refusal is
 * "name:line: why" in the caller's buffer, so all the tables report
 * errors alike.  Each parser embeds a struct tabfile as its first member
 * and recovers itself in the line callback with container_of. */
#ifndef LIB_TABFILE_H
#define LIB_TABFILE_H
#include <stddef.h>

struct tabfile {
	const char *name;	/* the file, in messages */
	unsigned line;		/* the line being parsed, from 1 */
	char *err;		/* the message, errlen bytes */
	size_t errlen;
};

/* One line s[0..n), without its newline: 0 goes on, anything else stops. */
typedef int tabfile_line_fn(struct tabfile *tf, const char *s, size_t n);

/* "name:line: <fmt>" into tf->err; returns rc. */
int tabfile_fail_at(struct tabfile *tf, unsigned line, int rc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same for the line being parsed. */
int tabfile_fail(struct tabfile *tf, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Each line of text[0..len) to fn, counting tf->line from 1.  -EINVAL
 * for a text longer than file_max ("name: larger than N bytes"), a line
 * longer than line_max bytes counting its newline (the last one counts
 * one even without it), or a NUL byte; else 0 or fn's first non-zero. */
int tabfile_lines(struct tabfile *tf, const char *text, size_t len,
    size_t file_max, size_t line_max, tabfile_line_fn *fn);
#endif
