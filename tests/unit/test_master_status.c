/* Unit tests for master_status (run/status: "name pid state" lines,
 * written atomically) and mtactl's check of those lines. */
#include <criterion/criterion.h>

#include "master/master.h"
#include "master/mtactl.h"
#include "lib/mem.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct master_status_line lines[] = {
	{ "mta-qwriter", 101, MASTER_RUNNING },
	{ "mta-smtpd", 102, MASTER_RUNNING },
	{ "mta-smtpd", 0, MASTER_RESTARTING },
	{ "mta-smtpd", 104, MASTER_STOPPING },
};

static const char want[] =
	"mta-qwriter 101 running\n"
	"mta-smtpd 102 running\n"
	"mta-smtpd - restarting\n"
	"mta-smtpd 104 stopping\n";

Test(master_status, format_is_name_pid_state)
{
	struct buf b;

	buf_init(&b, 0);
	master_status_format(lines, ARRAY_LEN(lines), &b);
	cr_assert_str_eq(buf_cstr(&b), want);
	buf_free(&b);
}

Test(master_status, empty_table_is_empty_file)
{
	struct buf b;

	buf_init(&b, 0);
	master_status_format(lines, 0, &b);
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(master_status, write_is_atomic_and_readable)
{
	char dir[] = "/tmp/test_master_status.XXXXXX", path[256], text[512];
	struct stat st;
	FILE *f;
	size_t n;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	umask(077);		/* the file must still be 0644 */
	cr_assert_eq(master_status_write(dir, lines, ARRAY_LEN(lines)), 0);
	snprintf(path, sizeof(path), "%s/run/status", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	cr_assert_str_eq(text, want);
	snprintf(path, sizeof(path), "%s/run/status.tmp", dir);
	cr_assert_neq(access(path, F_OK), 0, "temp file left behind");
	master_status_remove(dir);
	snprintf(path, sizeof(path), "%s/run/status", dir);
	cr_assert_neq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
}

Test(master_status, write_fails_without_run_dir)
{
	cr_assert_lt(master_status_write("/nonexistent/state", lines, 1), 0);
}

Test(master_status, mtactl_accepts_what_the_master_writes)
{
	cr_assert(mtactl_status_line_ok("mta-smtpd 102 running\n"));
	cr_assert(mtactl_status_line_ok("mta-smtpd - restarting\n"));
	cr_assert(mtactl_status_line_ok("mta-qwriter 7 stopping"));
	cr_assert_not(mtactl_status_line_ok("mta-smtpd 102\n"));
	cr_assert_not(mtactl_status_line_ok("mta-smtpd x12 running\n"));
	cr_assert_not(mtactl_status_line_ok("mta-smtpd 1 dancing\n"));
	cr_assert_not(mtactl_status_line_ok("mta-smtpd 1 running extra\n"));
	cr_assert_not(mtactl_status_line_ok(""));
}

Test(master_status, state_names)
{
	cr_assert_str_eq(master_state_name(MASTER_RUNNING), "running");
	cr_assert_str_eq(master_state_name(MASTER_RESTARTING), "restarting");
	cr_assert_str_eq(master_state_name(MASTER_STOPPING), "stopping");
}
