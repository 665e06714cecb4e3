/* tabfile: the line loop and the "name:line: why" messages the table
 * parsers share; see tabfile.h.  The limits are checked here, before a
 * parser sees a byte, so no parser can forget one. */
#include "lib/tabfile.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tabfile_vfail(struct tabfile *tf, unsigned line, int rc,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static int tabfile_vfail(struct tabfile *tf, unsigned line, int rc,
    const char *fmt, va_list ap)
{
	int w = snprintf(tf->err, tf->errlen, "%s:%u: ", tf->name, line);

	if (w >= 0 && (size_t)w < tf->errlen)
		vsnprintf(tf->err + w, tf->errlen - (size_t)w, fmt, ap);
	return rc;
}

int tabfile_fail_at(struct tabfile *tf, unsigned line, int rc,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = tabfile_vfail(tf, line, rc, fmt, ap);
	va_end(ap);
	return rc;
}

int tabfile_fail(struct tabfile *tf, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = tabfile_vfail(tf, tf->line, rc, fmt, ap);
	va_end(ap);
	return rc;
}

int tabfile_lines(struct tabfile *tf, const char *text, size_t len,
    size_t file_max, size_t line_max, tabfile_line_fn *fn)
{
	size_t at = 0;
	int rc = 0;

	tf->line = 0;
	if (len > file_max) {
		snprintf(tf->err, tf->errlen, "%s: larger than %zu bytes",
		    tf->name, file_max);
		return -EINVAL;
	}
	while (at < len && rc == 0) {
		const char *s = text + at, *nl = memchr(s, '\n', len - at);
		size_t n = nl ? (size_t)(nl - s) : len - at;

		tf->line++;
		at += n + (nl ? 1 : 0);
		if (n + 1 > line_max)
			rc = tabfile_fail(tf, -EINVAL,
			    "line longer than %zu bytes", line_max);
		else if (memchr(s, '\0', n) != NULL)
			rc = tabfile_fail(tf, -EINVAL, "NUL byte");
		else
			rc = fn(tf, s, n);
	}
	return rc;
}
