/* Tests for bench/sink_session.c: the sink's SMTP state machine driven
 * with strings: a pipelined transaction answered in order, the same input
 * fed byte by byte, BDAT, faults (RCPT defer, drop after DATA), and the
 * asynchronous end-of-data reply (the --delay-ms/--store path). */
#include <criterion/criterion.h>
#include <string.h>

#include "bench/sink_session.h"
#include "lib/buf.h"

struct fake {
	struct buf out;
	int closed, dropped, finishes, sync;
	char reply[128];
	size_t replylen;
};

static void f_write(void *ctx, const char *p, size_t n)
{
	struct fake *f = ctx;

	cr_assert_eq(buf_append(&f->out, p, n), 0);
}

static void f_close(void *ctx) { ((struct fake *)ctx)->closed = 1; }
static void f_drop(void *ctx) { ((struct fake *)ctx)->dropped = 1; }

static int f_finish(void *ctx, const char *r, size_t n, struct buf *msg)
{
	struct fake *f = ctx;

	f->finishes++;
	memcpy(f->reply, r, n);
	f->replylen = n;
	if (msg != NULL)
		buf_free(msg);
	if (f->sync)
		f_write(ctx, r, n);
	return f->sync;
}

static const struct sink_session_ops ops = {
	f_write, f_close, f_drop, f_finish,
};

static struct sink_opts opts;
static struct sink_stats stats;
static struct sink_fault fault;
static struct sink_env env;
static struct fake fk;
static struct sink_session s;

static void setup(void)
{
	memset(&opts, 0, sizeof(opts));
	opts.hostname = "sink.test";
	sink_stats_init(&stats);
	memset(&fault, 0, sizeof(fault));
	env = (struct sink_env){ &opts, &stats, &fault, 0 };
	memset(&fk, 0, sizeof(fk));
	buf_init(&fk.out, 0);
	sink_session_init(&s, &env, &ops, &fk);
}

static void teardown(void)
{
	sink_session_free(&s);
	buf_free(&fk.out);
	sink_stats_free(&stats);
}

static const char *out(void)
{
	return buf_cstr(&fk.out);
}

#define TXN "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n" \
	"RCPT TO:<e@d.example>\r\nDATA\r\n"
#define MSG "Message-ID: <1@t>\r\nSubject: x\r\n\r\nbody\r\n..x\r\n.\r\n"
#define WANT "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n" \
	"354 End data with <CR><LF>.<CR><LF>\r\n" \
	"250 2.0.0 Ok: queued as 1\r\n221 2.0.0 Bye\r\n"

TestSuite(sink_session, .init = setup, .fini = teardown);

Test(sink_session, pipelined_transaction_is_answered_in_order)
{
	const char *in = "HELO c\r\n" TXN MSG "QUIT\r\n";

	sink_session_input(&s, in, strlen(in));
	cr_assert_str_eq(out(), "250 sink.test\r\n" WANT);
	cr_assert_eq(fk.closed, 1);
	cr_assert_eq(stats.messages, 1);
	cr_assert_eq(stats.recipients, 2);
	cr_assert_eq(stats.bytes, strlen(MSG) - 4, "bytes %llu",
	    (unsigned long long)stats.bytes);
	cr_assert_eq(stats.unique_ids, 1);
}

Test(sink_session, byte_by_byte_input_gives_the_same_replies)
{
	const char *in = "HELO c\r\n" TXN MSG "QUIT\r\n";

	for (size_t i = 0; in[i] != '\0'; i++)
		sink_session_input(&s, in + i, 1);
	cr_assert_str_eq(out(), "250 sink.test\r\n" WANT);
	cr_assert_eq(stats.unique_ids, 1);
}

Test(sink_session, bdat_chunks_make_one_message)
{
	const char *in = "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"
	    "BDAT 21\r\nMessage-ID: <b@t>\r\n\r\nBDAT 4 LAST\r\nbody"
	    "NOOP\r\n";

	sink_session_input(&s, in, strlen(in));
	cr_assert(strstr(out(), "250-CHUNKING\r\n") != NULL);
	cr_assert(strstr(out(), "250 2.0.0 21 octets received\r\n"
	    "250 2.0.0 Ok: queued as 1\r\n250 2.0.0 Ok\r\n") != NULL);
	cr_assert_eq(stats.messages, 1);
	cr_assert_eq(stats.unique_ids, 1);
}

Test(sink_session, rcpt_defer_and_no_valid_rcpt)
{
	const char *in = "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"
	    "DATA\r\n";

	fault.defer_pct = 100;
	sink_session_input(&s, in, strlen(in));
	cr_assert(strstr(out(), "451 4.3.0") != NULL);
	cr_assert(strstr(out(), "554 5.5.1 No valid recipients") != NULL);
	cr_assert_eq(stats.rcpt_deferred, 1);
	cr_assert_eq(stats.messages, 0);
}

Test(sink_session, drop_closes_without_reply)
{
	const char *in = "HELO c\r\n" TXN MSG "QUIT\r\n";

	fault.drop_pct = 100;
	sink_session_input(&s, in, strlen(in));
	cr_assert_eq(fk.dropped, 1);
	cr_assert_null(strstr(out(), "queued"));
	cr_assert_eq(stats.dropped, 1);
	cr_assert_eq(stats.messages, 0);
}

Test(sink_session, async_reply_waits_and_keeps_input)
{
	const char *in = "HELO c\r\n" TXN MSG "NOOP\r\n";

	env.async = 1;
	sink_session_input(&s, in, strlen(in));
	cr_assert_eq(fk.finishes, 1);
	cr_assert_null(strstr(out(), "250 2.0.0 Ok\r\n"), "NOOP ran early");
	sink_session_input(&s, "QUIT\r\n", 6);
	f_write(&fk, fk.reply, fk.replylen);
	sink_session_resume(&s);
	cr_assert_str_eq(out(), "250 sink.test\r\n250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as 1\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

Test(sink_session, syntax_errors_use_smtpd_replies)
{
	const char *in = "MAIL FROM:bad\r\nRCPT TO:<x@y>\r\nXYZZY\r\n";

	sink_session_input(&s, in, strlen(in));
	cr_assert_eq(out()[0], '5');
	cr_assert(strstr(out(), "503 5.5.1 Need MAIL command\r\n") != NULL);
	cr_assert(strstr(out(), "502 5.5.2") != NULL);
}

Test(sink_session, duplicate_message_ids_are_counted)
{
	const char *in = "HELO c\r\n" TXN MSG TXN MSG;

	sink_session_input(&s, in, strlen(in));
	cr_assert_eq(stats.messages, 2);
	cr_assert_eq(stats.unique_ids, 1);
	cr_assert_eq(stats.duplicate_ids, 1);
}
