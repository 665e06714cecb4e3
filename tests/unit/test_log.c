/* Unit tests for lib/log.c's held lines: nothing written while held until
 * log_flush, whole lines in order, a full buffer written before it would
 * overflow (never a split line), log_hold(0) and exit() write what is
 * held, a forked child neither writes its parent's held lines again nor
 * logs under the parent's pid, other threads write at once, and the
 * timestamp (its seconds part made once per second) stays ISO 8601. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"

static char path[] = "/tmp/test_log.XXXXXX";
static int saved_stderr = -1;

static void setup(void)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(dup2(fd, STDERR_FILENO), 0);
	close(fd);
	log_init("test-log");
	log_use_timestamps(0);
}

static void teardown(void)
{
	log_hold(0);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(path);
}

TestSuite(log, .init = setup, .fini = teardown);

/* What stderr holds so far. */
static char *logged(void)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	cr_assert_geq(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

Test(log, held_lines_wait_for_the_flush)
{
	char want[200];

	log_hold(1);
	log_info("one");
	log_warn("two %d", 2);
	cr_assert_str_empty(logged());
	log_flush();
	snprintf(want, sizeof(want), "test-log[%ld]: one\ntest-log[%ld]: "
	    "warning: two 2\n", (long)getpid(), (long)getpid());
	cr_assert_str_eq(logged(), want);
	log_info("three");
	log_hold(0);			/* writes what is held */
	cr_assert_not_null(strstr(logged(), "three\n"));
	log_info("four");		/* at once again */
	cr_assert_not_null(strstr(logged(), "four\n"));
}

Test(log, a_full_buffer_is_written_in_whole_lines)
{
	char word[301];
	char *text, *p;
	size_t len;
	int i, lines = 0;

	memset(word, 'x', sizeof(word) - 1);
	word[sizeof(word) - 1] = '\0';
	log_hold(1);
	for (i = 0; i < 40; i++)	/* ~13 KiB, over three PIPE_BUFs */
		log_info("%02d %s", i, word);
	text = logged();
	len = strlen(text);
	cr_assert_gt(len, 0, "written before it overflowed");
	cr_assert_eq(text[len - 1], '\n', "whole lines only");
	log_flush();
	text = logged();
	cr_assert_gt(strlen(text), len, "the rest was held");
	cr_assert_leq(strlen(text) - len, PIPE_BUF, "held at most PIPE_BUF");
	for (p = text; (p = strstr(p, "test-log[")) != NULL; p++) {
		char want[16];

		snprintf(want, sizeof(want), "]: %02d ", lines);
		cr_assert_not_null(strstr(p, want), "line %d in order", lines);
		lines++;
	}
	cr_assert_eq(lines, 40);
}

Test(log, a_forked_child_logs_as_itself_and_once)
{
	char mine[64], child[64];
	pid_t pid;
	int status;

	log_info("before the hold");	/* caches our pid */
	log_hold(1);
	log_info("held by the parent");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		log_info("from the child");
		exit(0);		/* exit() writes what the child holds */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0);
	log_flush();
	snprintf(mine, sizeof(mine), "[%ld]: held by the parent\n",
	    (long)getpid());
	snprintf(child, sizeof(child), "[%ld]: from the child\n", (long)pid);
	cr_assert_not_null(strstr(logged(), mine));
	cr_assert_null(strstr(strstr(logged(), mine) + strlen(mine),
	    "held by the parent"),
	    "the parent's held line twice");
	cr_assert_not_null(strstr(logged(), child), "%s", logged());
}

static void *other_thread(void *arg)
{
	(void)arg;
	log_info("from another thread");
	return NULL;
}

Test(log, other_threads_write_at_once)
{
	pthread_t t;

	log_hold(1);
	log_info("held");
	cr_assert_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	pthread_join(t, NULL);
	cr_assert_not_null(strstr(logged(), "from another thread"));
	cr_assert_null(strstr(logged(), "held"));
}

Test(log, timestamps_are_iso_8601_utc_with_milliseconds)
{
	char *text;
	int i;

	log_use_timestamps(1);
	for (i = 0; i < 3; i++)		/* the second one reuses the first's */
		log_info("stamped %d", i);
	log_use_timestamps(0);
	text = logged();
	for (i = 0; i < 3; i++, text = strchr(text, '\n') + 1) {
		int y, mo, d, h, mi, sec, ms, n = 0;

		cr_assert_eq(sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ %n", &y,
		    &mo, &d, &h, &mi, &sec, &ms, &n), 7, "%s", text);
		cr_assert_eq(n, 25, "%s", text);
		cr_assert(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 &&
		    d <= 31 && h < 24 && mi < 60 && sec <= 60 && ms < 1000);
		cr_assert_eq(strncmp(text + 25, "test-log[", 9), 0, "%s", text);
	}
}
