/* Unit tests for lib/tabfile.c: the file and line limits, NUL bytes, a
 * last line without its newline, the "name:line: why" text (truncated
 * safely in a short buffer) and a callback stopping the loop early. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/tabfile.h"

/* What the callback saw: each line as "[line]text", and where to stop. */
struct seen {
	struct tabfile tf;
	char lines[256];
	unsigned stop_at;
};

static char err[128];

static int record(struct tabfile *tf, const char *s, size_t n)
{
	struct seen *v = container_of(tf, struct seen, tf);
	size_t at = strlen(v->lines);

	snprintf(v->lines + at, sizeof(v->lines) - at, "[%u]%.*s", tf->line,
	    (int)n, s);
	if (tf->line == v->stop_at)
		return tabfile_fail(tf, -ECANCELED, "stopped at %.*s", (int)n,
		    s);
	return 0;
}

static int lines(struct seen *v, const char *text, size_t len,
    size_t file_max, size_t line_max)
{
	memset(v, 0, sizeof(*v));
	v->tf = (struct tabfile){ .name = "tf", .err = err,
	    .errlen = sizeof(err) };
	err[0] = '\0';
	return tabfile_lines(&v->tf, text, len, file_max, line_max, record);
}

Test(tabfile, every_line_in_order)
{
	struct seen v;

	cr_assert_eq(lines(&v, "a\n\nbc\n", 6, 100, 10), 0);
	cr_assert_str_eq(v.lines, "[1]a[2][3]bc");
	cr_assert_str_eq(err, "");
	cr_assert_eq(lines(&v, "", 0, 100, 10), 0);
	cr_assert_str_eq(v.lines, "");
}

Test(tabfile, last_line_without_newline)
{
	struct seen v;

	cr_assert_eq(lines(&v, "a\nlast", 6, 100, 10), 0);
	cr_assert_str_eq(v.lines, "[1]a[2]last");
}

Test(tabfile, file_size_cap)
{
	struct seen v;

	cr_assert_eq(lines(&v, "a\nb\n", 4, 4, 10), 0);
	cr_assert_eq(lines(&v, "a\nb\nc", 5, 4, 10), -EINVAL);
	cr_assert_str_eq(err, "tf: larger than 4 bytes");
	cr_assert_str_eq(v.lines, "", "nothing parsed past the cap");
}

Test(tabfile, long_line_counts_its_newline)
{
	struct seen v;

	/* line_max 4: "abc\n" fits exactly, "abcd\n" is one too many. */
	cr_assert_eq(lines(&v, "abc\nabcd\n", 9, 100, 4), -EINVAL);
	cr_assert_str_eq(err, "tf:2: line longer than 4 bytes");
	cr_assert_str_eq(v.lines, "[1]abc");
	cr_assert_eq(lines(&v, "abc\nabcd", 8, 100, 4), -EINVAL,
	    "a last line without newline is counted as if it had one");
	cr_assert_str_eq(err, "tf:2: line longer than 4 bytes");
}

Test(tabfile, nul_byte)
{
	struct seen v;

	cr_assert_eq(lines(&v, "ok\na\0b\nc\n", 9, 100, 10), -EINVAL);
	cr_assert_str_eq(err, "tf:2: NUL byte");
	cr_assert_str_eq(v.lines, "[1]ok");
}

Test(tabfile, early_stop_keeps_the_callers_code)
{
	struct seen v;

	memset(&v, 0, sizeof(v));
	v.tf = (struct tabfile){ .name = "tf", .err = err,
	    .errlen = sizeof(err) };
	v.stop_at = 2;
	cr_assert_eq(tabfile_lines(&v.tf, "a\nb\nc\n", 6, 100, 10, record),
	    -ECANCELED);
	cr_assert_str_eq(err, "tf:2: stopped at b");
	cr_assert_str_eq(v.lines, "[1]a[2]b", "line 3 never seen");
}

Test(tabfile, error_text_format)
{
	struct tabfile tf = { .name = "/etc/x", .line = 7, .err = err,
	    .errlen = sizeof(err) };
	char small[8];

	cr_assert_eq(tabfile_fail(&tf, -EBADMSG, "bad %s %d", "thing", 3),
	    -EBADMSG);
	cr_assert_str_eq(err, "/etc/x:7: bad thing 3");
	cr_assert_eq(tabfile_fail_at(&tf, 2, -EINVAL, "dup"), -EINVAL);
	cr_assert_str_eq(err, "/etc/x:2: dup");
	tf.err = small;
	tf.errlen = sizeof(small);
	cr_assert_eq(tabfile_fail(&tf, -EINVAL, "long message"), -EINVAL);
	cr_assert_str_eq(small, "/etc/x:");
}
