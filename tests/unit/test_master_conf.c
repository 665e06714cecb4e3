/* Unit tests for master_conf: absolute paths, loading with state_dir made
 * absolute, and what a reload must replace. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "master/master.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Arrays, not pointers: Criterion may run the test in a new process. */
struct abs_case {
	char in[32];
	char want[32];		/* "/base...": relative to the test's cwd */
};

ParameterizedTestParameters(master_conf, abs_path)
{
	static struct abs_case cases[] = {
		{ "/", "/" },
		{ "/var/lib/mta", "/var/lib/mta" },
		{ "/var//lib/./mta/", "/var/lib/mta" },
		{ "/a/b/../c", "/a/c" },
		{ "/../..", "/" },
		{ "var", "/base/var" },
		{ "./var", "/base/var" },
		{ "../x", "/x" },
		{ ".", "/base" },
	};

	return cr_make_param_array(struct abs_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct abs_case *c, master_conf, abs_path)
{
	char dir[] = "/tmp/test_master_abs.XXXXXX", base[64], out[4096];
	char want[4096];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/base", dir);
	mkdir(base, 0755);
	cr_assert_eq(chdir(base), 0);
	cr_assert_eq(master_abs_path(c->in, out, sizeof(out)), 0);
	if (strncmp(c->want, "/base", 5) == 0)
		snprintf(want, sizeof(want), "%s%s", dir, c->want);
	else if (strcmp(c->want, "/x") == 0)
		snprintf(want, sizeof(want), "%s/x", dir);
	else
		snprintf(want, sizeof(want), "%s", c->want);
	cr_assert_str_eq(out, want, "%s", c->in);
	rmdir(base);
	rmdir(dir);
}

Test(master_conf, abs_path_errors)
{
	char out[8];

	cr_assert_eq(master_abs_path("", out, sizeof(out)), -EINVAL);
	cr_assert_eq(master_abs_path("/a/very/long/path", out, sizeof(out)),
	    -ENAMETOOLONG);
}

Test(master_conf, load_makes_paths_absolute)
{
	char dir[] = "/tmp/test_master_conf.XXXXXX", path[256], cp[4096];
	char err[CONF_ERR_MAX], want[256];
	struct conf *c = xcalloc(1, sizeof(*c));
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
	snprintf(path, sizeof(path), "%s/mta.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("state_dir = ./state\nsmtpd_workers = 3\n", f);
	fclose(f);
	cr_assert_eq(master_conf_load(c, "mta.conf", cp, sizeof(cp), err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cp, path);
	snprintf(want, sizeof(want), "%s/state", dir);
	cr_assert_str_eq(c->state_dir, want);
	cr_assert_eq(c->smtpd_workers, 3);
	conf_free(c);
	unlink(path);
	unsetenv("MTA_CONF");
	cr_assert_eq(master_conf_load(c, NULL, cp, sizeof(cp), err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cp, "", "embedded defaults: no -c for the daemons");
	snprintf(want, sizeof(want), "%s/var", dir);
	cr_assert_str_eq(c->state_dir, want);
	conf_free(c);
	free(c);
	rmdir(dir);
}

Test(master_conf, load_error_is_file_line_message)
{
	char dir[] = "/tmp/test_master_conf.XXXXXX", path[256], cp[4096];
	char err[CONF_ERR_MAX], want[300];
	struct conf *c = xcalloc(1, sizeof(*c));
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("# comment\nno_such_key = 1\n", f);
	fclose(f);
	cr_assert_eq(master_conf_load(c, path, cp, sizeof(cp), err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: ", path);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "got %s", err);
	conf_free(c);
	free(c);
	unlink(path);
	rmdir(dir);
}

static struct conf *conf_text(const char *text)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	char err[CONF_ERR_MAX];

	cr_assert_eq(conf_load_string(c, "t", text, strlen(text), err,
	    sizeof(err)), 0, "%s", err);
	return c;
}

Test(master_conf, listen_same_compares_addresses_in_order)
{
	struct conf *a = conf_text("smtp_listen = 127.0.0.1:25, [::1]:25\n");
	struct conf *b = conf_text("smtp_listen = 127.0.0.1:25,[::1]:25\n");
	struct conf *c = conf_text("smtp_listen = [::1]:25, 127.0.0.1:25\n");
	struct conf *d = conf_text("smtp_listen = 127.0.0.1:26\n");

	cr_assert(master_listen_same(a->smtp_listen, a->n_smtp_listen,
	    b->smtp_listen, b->n_smtp_listen));
	cr_assert_not(master_listen_same(a->smtp_listen, a->n_smtp_listen,
	    c->smtp_listen, c->n_smtp_listen));
	cr_assert_not(master_listen_same(a->smtp_listen, a->n_smtp_listen,
	    d->smtp_listen, d->n_smtp_listen));
	conf_free(a);
	conf_free(b);
	conf_free(c);
	conf_free(d);
	free(a);
	free(b);
	free(c);
	free(d);
}

Test(master_conf, qwriter_restarts_only_for_its_settings)
{
	static const char *const same[] = { "smtpd_workers = 4\n",
		"mynetworks = 10.0.0.0/8\n", "hostname = other.example\n",
		"smtp_listen = 127.0.0.1:2626\n" };
	static const char *const differ[] = { "message_size_limit = 10m\n",
		"user_queue = other\n", "user_smtpd = other\n",
		"queue_checkpoint_ms = 50\n" };
	struct conf *a = conf_text("smtpd_workers = 2\n"), *b;
	size_t i;

	for (i = 0; i < ARRAY_LEN(same); i++) {
		b = conf_text(same[i]);
		cr_assert_not(master_qwriter_changed(a, b), "%s", same[i]);
		conf_free(b);
		free(b);
	}
	for (i = 0; i < ARRAY_LEN(differ); i++) {
		b = conf_text(differ[i]);
		cr_assert(master_qwriter_changed(a, b), "%s", differ[i]);
		conf_free(b);
		free(b);
	}
	conf_free(a);
	free(a);
}
