/* log: line-atomic logging to stderr or syslog; see log.h. */
#include "lib/log.h"
#include "lib/numfmt.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
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
static pid_t log_pid;			/* 0: not known (after a fork) */

/* A loop thread's held lines: one write stays atomic on a pipe. */
static __thread char log_held[PIPE_BUF];
static __thread size_t log_held_len;
static __thread int log_holding;

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

static void log_write(const char *p, size_t len)
{
	(void)!write(STDERR_FILENO, p, len);
}

void log_flush(void)
{
	if (log_held_len > 0)
		log_write(log_held, log_held_len);
	log_held_len = 0;
}

static void log_exit_flush(void)
{
	log_flush();
}

/* The child of a fork: the parent wrote what it held (log_flush as the
 * prepare handler); the copy is not ours to write again. */
static void log_forked(void)
{
	log_held_len = 0;
	log_pid = 0;
}

static void log_register(void)
{
	atexit(log_exit_flush);
	pthread_atfork(log_flush, NULL, log_forked);
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

void log_hold(int on)
{
	pthread_once(&log_once, log_register);
	if (!on)
		log_flush();
	log_holding = on;
}

/* Cached: getpid is a system call (glibc caches nothing), once per line
 * otherwise.  A fork clears it (log_forked). */
static long log_getpid(void)
{
	pid_t pid = __atomic_load_n(&log_pid, __ATOMIC_RELAXED);

	if (pid == 0) {
		pthread_once(&log_once, log_register);
		pid = getpid();
		__atomic_store_n(&log_pid, pid, __ATOMIC_RELAXED);
	}
	return (long)pid;
}

/* "2026-11-27T16:20:19.123Z ": the part up to the second is made once per
 * second per thread (gmtime and strftime cost more than the rest). */
static size_t log_stamp(char *p, size_t n)
{
	static __thread time_t sec = -1;
	static __thread char head[32];
	static __thread size_t head_len;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		gmtime_r(&ts.tv_sec, &tm);
		head_len = strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
		sec = ts.tv_sec;
	}
	if (head_len + 7 > n)
		return 0;
	memcpy(p, head, head_len);
	p[head_len] = '.';
	fmt_dec(p + head_len + 1, (uint64_t)ts.tv_nsec / 1000000, 3);
	memcpy(p + head_len + 4, "Z ", 2);
	return head_len + 6;
}

/* "name[pid]: ", made again only when the name or the pid changed. */
static size_t log_prefix(char *p, size_t n)
{
	static __thread char pre[96];
	static __thread size_t pre_len;
	static __thread const char *pre_name;
	static __thread long pre_pid;
	long pid = log_getpid();
	int m;

	if (pre_name != log_name || pre_pid != pid) {
		m = snprintf(pre, sizeof(pre), "%.64s[%ld]: ", log_name, pid);
		pre_len = m > 0 && (size_t)m < sizeof(pre) ? (size_t)m : 0;
		pre_name = log_name;
		pre_pid = pid;
	}
	if (pre_len >= n)
		return 0;
	memcpy(p, pre, pre_len);
	return pre_len;
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
	len += log_prefix(line + len, sizeof(line) - len);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	len += n > 0 ? (size_t)n : 0;
	if (suffix && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s", suffix);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* Whole lines per write: atomic for O_APPEND files and pipes. */
	if (!log_holding || prio <= LOG_CRIT) {
		log_flush();
		log_write(line, len);
		return;
	}
	if (log_held_len + len > sizeof(log_held))
		log_flush();
	memcpy(log_held + log_held_len, line, len);
	log_held_len += len;
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
