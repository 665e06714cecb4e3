/* Unit tests for lib/buf.c: growth keeps the bytes, the limit refuses an
 * append without a partial write, printf, consume, cstr, shrink and the
 * double-buffer flip. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/mem.h"

Test(buf, starts_empty)
{
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(b.len, 0);
	cr_assert_null(b.data);
	cr_assert_str_eq(buf_cstr(&b), "");
	buf_free(&b);
}

Test(buf, growth_keeps_every_byte)
{
	struct buf b;
	unsigned char chunk[37];

	buf_init(&b, 0);
	for (int i = 0; i < 1000; i++) {
		for (size_t k = 0; k < sizeof(chunk); k++)
			chunk[k] = (unsigned char)(i + k);
		cr_assert_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
	}
	cr_assert_eq(b.len, 1000 * sizeof(chunk));
	cr_assert_gt(b.cap, b.len);
	for (int i = 0; i < 1000; i++)
		for (size_t k = 0; k < sizeof(chunk); k++)
			cr_assert_eq((unsigned char)b.data[i * sizeof(chunk) + k],
			    (unsigned char)(i + k));
	buf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
}

Test(buf, binary_data_with_nul_is_kept)
{
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(buf_append(&b, "a\0b\0", 4), 0);
	cr_assert_eq(b.len, 4);
	cr_assert_eq(memcmp(b.data, "a\0b\0", 4), 0);
	buf_free(&b);
}

Test(buf, append_of_nothing_is_fine)
{
	struct buf b;

	buf_init(&b, 1);
	cr_assert_eq(buf_append(&b, NULL, 0), 0);
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(buf, limit_is_exact_and_refuses_without_partial_append)
{
	struct buf b;

	buf_init(&b, 10);
	cr_assert_eq(buf_append(&b, "0123456", 7), 0);
	cr_assert_eq(buf_append(&b, "7890", 4), -EMSGSIZE);
	cr_assert_eq(b.len, 7);
	cr_assert_eq(buf_append(&b, "789", 3), 0);
	cr_assert_eq(b.len, 10);
	cr_assert_eq(buf_append(&b, "x", 1), -EMSGSIZE);
	cr_assert_eq(buf_puts(&b, "x"), -EMSGSIZE);
	cr_assert_eq(buf_printf(&b, "%d", 1), -EMSGSIZE);
	cr_assert_eq(b.len, 10);
	cr_assert_str_eq(buf_cstr(&b), "0123456789");
	cr_assert_leq(b.cap, 11);
	buf_free(&b);
}

Test(buf, reserve_respects_the_limit)
{
	struct buf b;

	buf_init(&b, 100);
	cr_assert_eq(buf_reserve(&b, 100), 0);
	cr_assert_geq(b.cap, 101);
	cr_assert_eq(buf_reserve(&b, 101), -EMSGSIZE);
	cr_assert_eq(buf_reserve(&b, (size_t)-1), -EMSGSIZE);
	buf_free(&b);
}

Test(buf, printf_formats_and_grows)
{
	struct buf b;
	char big[3000];

	buf_init(&b, 0);
	cr_assert_eq(buf_printf(&b, "%s=%d;", "x", 42), 0);
	cr_assert_eq(buf_printf(&b, "%05u", 7u), 0);
	cr_assert_str_eq(buf_cstr(&b), "x=42;00007");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(buf_printf(&b, "[%s]", big), 0);
	cr_assert_eq(b.len, 10 + 2 + sizeof(big) - 1);
	cr_assert_eq(b.data[b.len - 1], ']');
	cr_assert_eq(b.data[11], 'z');
	buf_free(&b);
}

Test(buf, printf_at_the_edge_of_its_room)
{
	struct buf b;
	size_t room;

	buf_init(&b, 0);
	cr_assert_eq(buf_puts(&b, "a"), 0);
	room = b.cap - b.len;		/* the text fits, its NUL does not */
	for (size_t i = 0; i < room; i++)
		cr_assert_eq(buf_printf(&b, "%c", i + 1 < room ? 'b' : 'c'), 0);
	cr_assert_eq(b.len, 1 + room);
	cr_assert_eq(b.data[b.len - 1], 'c', "written whole after growing");
	buf_free(&b);

	buf_init(&b, 8);
	cr_assert_eq(buf_printf(&b, "%s", "1234567"), 0);
	cr_assert_eq(buf_printf(&b, "%s", "89"), -EMSGSIZE);
	cr_assert_eq(b.len, 7, "a refused text leaves nothing");
	cr_assert_eq(buf_printf(&b, "%d", 8), 0);
	cr_assert_str_eq(buf_cstr(&b), "12345678");
	buf_free(&b);
}

Test(buf, puts_appends_without_nul)
{
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(buf_puts(&b, "abc"), 0);
	cr_assert_eq(buf_puts(&b, "def"), 0);
	cr_assert_eq(b.len, 6);
	cr_assert_str_eq(buf_cstr(&b), "abcdef");
	cr_assert_eq(b.len, 6);
	buf_free(&b);
}

Test(buf, consume_drops_the_front)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "hello world");
	buf_consume(&b, 6);
	cr_assert_eq(b.len, 5);
	cr_assert_str_eq(buf_cstr(&b), "world");
	buf_consume(&b, 0);
	cr_assert_str_eq(buf_cstr(&b), "world");
	buf_consume(&b, 5);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(buf_cstr(&b), "");
	buf_puts(&b, "xy");
	buf_consume(&b, 100);		/* more than len: empties */
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(buf, reset_keeps_storage)
{
	struct buf b;
	char *p;

	buf_init(&b, 0);
	buf_puts(&b, "something");
	p = b.data;
	buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.data, p);
	cr_assert_gt(b.cap, 0);
	buf_free(&b);
}

Test(buf, shrink_releases_idle_storage)
{
	struct buf b;
	char *big = xcalloc(1, 100000);

	buf_init(&b, 0);
	buf_append(&b, big, 100000);
	buf_consume(&b, 100000 - 10);
	cr_assert_geq(b.cap, 100000);
	buf_shrink(&b);
	cr_assert_eq(b.len, 10);
	cr_assert_lt(b.cap, 100);
	buf_consume(&b, 10);
	buf_shrink(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.cap, 0);
	cr_assert_eq(buf_puts(&b, "again"), 0);
	cr_assert_str_eq(buf_cstr(&b), "again");
	buf_free(&b);
	free(big);
}

Test(buf, shrink_keeps_a_small_buffer)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "abc");
	buf_shrink(&b);
	cr_assert_str_eq(buf_cstr(&b), "abc");
	buf_free(&b);
}

Test(buf, free_then_reuse)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "one");
	buf_free(&b);
	buf_free(&b);
	buf_init(&b, 4);
	cr_assert_eq(buf_puts(&b, "four"), 0);
	cr_assert_eq(buf_puts(&b, "5"), -EMSGSIZE);
	buf_free(&b);
}

Test(buf, flip_moves_the_batch_only_once_the_wire_is_sent)
{
	struct buf wire, out;
	size_t off = 0;

	buf_init(&wire, 0);
	buf_init(&out, 0);
	cr_assert_eq(buf_flip(&wire, &off, &out), 0);
	cr_assert_eq(buf_append(&out, "abc", 3), 0);
	cr_assert_eq(buf_flip(&wire, &off, &out), 3);
	cr_assert_eq(memcmp(wire.data, "abc", 3), 0);
	cr_assert_eq(out.len, 0);
	cr_assert_eq(off, 0);
	cr_assert_eq(buf_append(&out, "de", 2), 0);
	off = 1;		/* a short send */
	cr_assert_eq(buf_flip(&wire, &off, &out), 2);
	cr_assert_eq(wire.data[off], 'b');
	cr_assert_eq(out.len, 2);
	off = 3;		/* the rest went */
	cr_assert_eq(buf_flip(&wire, &off, &out), 2);
	cr_assert_eq(memcmp(wire.data, "de", 2), 0);
	cr_assert_eq(off, 0);
	off = 2;
	cr_assert_eq(buf_flip(&wire, &off, &out), 0);
	cr_assert_eq(wire.len, 0);
	cr_assert_eq(off, 0);
	buf_free(&wire);
	buf_free(&out);
}
