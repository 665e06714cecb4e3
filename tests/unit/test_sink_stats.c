/* Tests for bench/sink_stats.c: the Message-ID set (unique, duplicate,
 * missing), growth past many IDs, and the JSON report. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bench/sink_stats.h"

Test(sink_stats, duplicates_and_missing_ids_are_counted)
{
	struct sink_stats st;

	sink_stats_init(&st);
	cr_assert_eq(sink_stats_msgid(&st, "<a@x>", 5), 0);
	cr_assert_eq(sink_stats_msgid(&st, "<b@x>", 5), 0);
	cr_assert_eq(sink_stats_msgid(&st, "<a@x>", 5), 1);
	cr_assert_eq(sink_stats_msgid(&st, "", 0), 0);
	cr_assert_eq(st.unique_ids, 2);
	cr_assert_eq(st.duplicate_ids, 1);
	cr_assert_eq(st.no_msgid, 1);
	cr_assert_eq(st.ndups, 1);
	cr_assert_str_eq(st.dups[0], "<a@x>");
	sink_stats_free(&st);
}

Test(sink_stats, set_grows_and_keeps_every_id)
{
	struct sink_stats st;
	char id[32];

	sink_stats_init(&st);
	for (int i = 0; i < 50000; i++) {
		int n = snprintf(id, sizeof(id), "<%d@x>", i);

		cr_assert_eq(sink_stats_msgid(&st, id, (size_t)n), 0);
	}
	for (int i = 0; i < 50000; i += 997) {
		int n = snprintf(id, sizeof(id), "<%d@x>", i);

		cr_assert_eq(sink_stats_msgid(&st, id, (size_t)n), 1);
	}
	cr_assert_eq(st.unique_ids, 50000);
	cr_assert_eq(st.duplicate_ids, 51);
	cr_assert_eq(st.ndups, SINK_STATS_DUPS_KEPT);
	sink_stats_free(&st);
}

Test(sink_stats, json_report_is_one_object)
{
	struct sink_stats st;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	sink_stats_init(&st);
	st.messages = 3;
	sink_stats_msgid(&st, "<q\"@x>", 6);
	sink_stats_msgid(&st, "<q\"@x>", 6);
	sink_stats_print(&st, f, 1, 1.5);
	fclose(f);
	cr_assert(strstr(out, "\"messages\":3,") != NULL);
	cr_assert(strstr(out, "\"duplicate_ids\":1,") != NULL);
	cr_assert(strstr(out, "\"duplicates\":[\"<q\\\"@x>\"]") != NULL);
	cr_assert_eq(out[0], '{');
	free(out);
	sink_stats_free(&st);
}
