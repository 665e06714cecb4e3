/* Tests for bench/sink_opts.c: mta-sink's argument parsing (listeners,
 * percentages, numbers, defaults, errors). */
#include <criterion/criterion.h>
#include <string.h>

#include "bench/sink_opts.h"

#define ARGV(...) ((char *[]){ "mta-sink", __VA_ARGS__, NULL })

static int parse(int argc, char **argv, struct sink_opts *o)
{
	char err[128];

	return sink_opts_parse(argc, argv, o, err, sizeof(err));
}

Test(sink_opts, defaults_listen_on_2526)
{
	struct sink_opts o;
	char *v[] = { "mta-sink", NULL };

	cr_assert_eq(parse(1, v, &o), 0);
	cr_assert_eq(o.nlisten, 1);
	cr_assert_str_eq(o.listen[0].host, "127.0.0.1");
	cr_assert_str_eq(o.listen[0].port, "2526");
	cr_assert_null(o.store_dir);
	cr_assert_eq(o.json, 0);
}

Test(sink_opts, every_option_is_taken)
{
	struct sink_opts o;
	char **v = ARGV("-l", "127.0.0.1:2600", "-l", "[::1]:2601", "--json",
	    "--seed", "99", "--defer-pct", "1.5", "--reject-pct", "2",
	    "--data-reject-pct", "3", "--drop-pct", "4", "--delay-ms", "250",
	    "--store", "/tmp/x", "--size", "1000");

	cr_assert_eq(parse(22, v, &o), 0);
	cr_assert_eq(o.nlisten, 2);
	cr_assert_str_eq(o.listen[1].host, "::1");
	cr_assert_str_eq(o.listen[1].port, "2601");
	cr_assert_eq(o.json, 1);
	cr_assert_eq(o.seed, 99);
	cr_assert_float_eq(o.defer_pct, 1.5, 1e-9);
	cr_assert_float_eq(o.reject_pct, 2, 1e-9);
	cr_assert_float_eq(o.data_reject_pct, 3, 1e-9);
	cr_assert_float_eq(o.drop_pct, 4, 1e-9);
	cr_assert_eq(o.delay_ms, 250);
	cr_assert_str_eq(o.store_dir, "/tmp/x");
	cr_assert_eq(o.size_limit, 1000);
}

Test(sink_opts, bad_values_are_refused)
{
	struct sink_opts o;

	cr_assert_eq(parse(3, ARGV("--defer-pct", "101"), &o), -1);
	cr_assert_eq(parse(3, ARGV("--drop-pct", "x"), &o), -1);
	cr_assert_eq(parse(3, ARGV("--delay-ms", "-1"), &o), -1);
	cr_assert_eq(parse(3, ARGV("-l", "nohostport"), &o), -1);
	cr_assert_eq(parse(3, ARGV("-l", "h:port"), &o), -1);
	cr_assert_eq(parse(2, ARGV("--bogus"), &o), -1);
	cr_assert_eq(parse(2, ARGV("extra"), &o), -1);
	cr_assert_eq(parse(5, ARGV("--defer-pct", "60", "--reject-pct",
	    "50"), &o), -1);
}

Test(sink_opts, help_is_not_an_error)
{
	struct sink_opts o;

	cr_assert_eq(parse(2, ARGV("--help"), &o), 1);
}

Test(sink_opts, empty_host_means_any)
{
	struct sink_listen l;

	cr_assert_eq(sink_opts_listen(":25", &l), 0);
	cr_assert_str_eq(l.host, "");
	cr_assert_str_eq(l.port, "25");
}
