/* log: one line per event, "prog[pid]: text", written with a single write(2)
 * so lines from many processes sharing one stderr/log file never interleave.
 * A thread inside ev_run holds its lines (log_hold) and writes them
 * together when the loop is about to sleep (log_flush):
 * one write(2) per loop turn instead of one per line (a mta-remote turn
 * logs a status= line per recipient), still whole lines, at most
 * PIPE_BUF bytes, each stamped when it was logged.  fatal() and panic()
 * write what is held first; exit() does too.
 * Lines about a message start with its queue ID (INTERFACE.md "Logs").
 * fatal()/fatalx() are for setup only; panic() is for broken invariants. */
#ifndef LIB_LOG_H
#define LIB_LOG_H
#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Name this process in every line ("mta-smtpd"). */
void log_init(const char *prog);
/* Send lines to syslog(3) (mail facility) instead of stderr. */
void log_use_syslog(int on);
/* Prefix stderr lines with an ISO-8601 timestamp (on unless syslog). */
void log_use_timestamps(int on);
/* on: from now on the calling thread's stderr lines wait for log_flush
 * (or a full buffer); other threads' lines are written at once.  off:
 * write what is held, and each line at once again. */
void log_hold(int on);
/* Write the calling thread's held lines. */
void log_flush(void);
/* Ordinary event. */
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Something an operator should look at. */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Only when MTA_DEBUG is set in the environment. */
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Log with strerror(errno) appended and exit(1). */
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
/* Log and exit(1). */
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
/* Log and abort(): a bug. */
void panic(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
/* The name given to log_init. */
const char *log_prog(void);
#endif
