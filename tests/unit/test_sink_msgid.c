/* Tests for bench/sink_msgid.c: finding the end of the header section and
 * the Message-ID in it (case, folding, angle brackets, absence). */
#include <criterion/criterion.h>
#include <string.h>

#include "bench/sink_msgid.h"

static size_t find(const char *h, char *out, size_t cap)
{
	return sink_msgid_find(h, strlen(h), out, cap);
}

Test(sink_msgid, plain_field_is_found)
{
	char id[64];

	cr_assert_eq(find("From: a@b\r\nMessage-ID: <x.1@y>\r\n\r\n", id,
	    sizeof(id)), 7);
	cr_assert_str_eq(id, "<x.1@y>");
}

Test(sink_msgid, name_is_case_insensitive_and_first_wins)
{
	char id[64];

	find("message-id:<a@b>\r\nMESSAGE-ID: <c@d>\r\n\r\n", id, sizeof(id));
	cr_assert_str_eq(id, "<a@b>");
}

Test(sink_msgid, folded_value_is_unfolded)
{
	char id[64];

	find("Subject: x\r\nMessage-Id:\r\n <long@id.example>\r\n\r\n", id,
	    sizeof(id));
	cr_assert_str_eq(id, "<long@id.example>");
}

Test(sink_msgid, value_without_brackets_is_trimmed)
{
	char id[64];

	cr_assert_eq(find("Message-ID:   bare@id  \r\n\r\n", id, sizeof(id)),
	    7);
	cr_assert_str_eq(id, "bare@id");
}

Test(sink_msgid, absent_field_gives_zero)
{
	char id[64];

	cr_assert_eq(find("From: a\r\nX-Message-ID: <no@x>\r\n\r\n", id,
	    sizeof(id)), 0);
	cr_assert_str_eq(id, "");
}

Test(sink_msgid, body_is_not_searched_when_cut_at_header_end)
{
	const char *m = "From: a\r\n\r\nMessage-ID: <body@x>\r\n";
	char id[64];
	size_t e = sink_msgid_header_end(m, strlen(m));

	cr_assert_eq(e, 11);
	cr_assert_eq(sink_msgid_find(m, e, id, sizeof(id)), 0);
}

Test(sink_msgid, header_end_waits_for_empty_line)
{
	cr_assert_eq(sink_msgid_header_end("From: a\r\nTo: b\r\n", 16), 0);
	cr_assert_eq(sink_msgid_header_end("\r\nbody", 6), 2);
}

Test(sink_msgid, long_id_is_cut_to_capacity)
{
	char id[8];

	cr_assert_eq(find("Message-ID: abcdefghijkl\r\n\r\n", id,
	    sizeof(id)), 7);
	cr_assert_str_eq(id, "abcdefg");
}
