/* log: line-atomic logging to stderr or syslog; see log.h. */
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static const char *log_name = "mta";
static int log_syslog;
static int log_stamps = 1;
static int log_debug_on = -1;

void log_init(const char *prog)
{
	log_name = prog;
}

const char *log_prog(void)
{
	return log_name;
}

void log_use_syslog(int on)
{
	log_syslog = on;
	if (on)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_use_timestamps(int on)
{
	log_stamps = on;
}

static size_t log_stamp(char *p, size_t n)
{
	struct timespec ts;
	struct tm tm;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(p, n, "%Y-%m-%dT%H:%M:%S", &tm);
	len += (size_t)snprintf(p + len, n - len, ".%03ldZ ", ts.tv_nsec / 1000000);
	return len;
}

static void log_emit(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char line[LOG_LINE_MAX];
	size_t len = 0;
	int n;

	if (log_syslog) {
		n = vsnprintf(line, sizeof(line), fmt, ap);
		if (n < 0)
			return;
		syslog(prio, "%s%s", line, suffix ? suffix : "");
		return;
	}
	if (log_stamps)
		len = log_stamp(line, sizeof(line));
	n = snprintf(line + len, sizeof(line) - len, "%s[%ld]: ", log_name,
	    (long)getpid());
	len += n > 0 ? (size_t)n : 0;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	len += n > 0 ? (size_t)n : 0;
	if (suffix && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s", suffix);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line: atomic for O_APPEND files and pipes. */
	(void)!write(STDERR_FILENO, line, len);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	char pre[LOG_LINE_MAX];

	va_start(ap, fmt);
	snprintf(pre, sizeof(pre), "warning: %s", fmt);
	log_emit(LOG_WARNING, pre, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_debug_on < 0)
		log_debug_on = getenv("MTA_DEBUG") != NULL;
	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	char suffix[256];

	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, suffix);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, " (panic)");
	va_end(ap);
	abort();
}
