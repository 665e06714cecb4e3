/* Unit tests for deliver/agent_job.c through the remote agent's job
 * (deliver/remote_job.c adds its NEXTHOP check): JOB record validation
 * (missing, repeated and malformed attributes, hostile indices), the file
 * checks (index range, repeats, status, the file of another message, a
 * descriptor that is no file, corruption), results (once per recipient,
 * the rest deferred) and the RCPT/DONE records, and the SMTPUTF8 test. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "deliver/remote_job.h"
#include "lib/ipc.h"
#include "lib/mem.h"

#define QID_TEXT "0612C8FE9D046000"

/* A JOB record: QID, NEXTHOP, then the given RCPT_IDX values. */
static void job_record(struct buf *b, const char *qid, const char *hop,
    const char *const *idx, size_t n)
{
	size_t off = ipc_begin(b, IPC_AG_JOB, 42);

	if (qid != NULL)
		ipc_put_str(b, IPC_A_QID, qid);
	if (hop != NULL)
		ipc_put_str(b, IPC_A_NEXTHOP, hop);
	for (size_t i = 0; i < n; i++)
		ipc_put_str(b, IPC_A_RCPT_IDX, idx[i]);
	ipc_end(b, off);
}

static int parse(struct remote_job *j, const char *qid, const char *hop,
    const char *const *idx, size_t n)
{
	struct buf b;
	struct ipc_msg m;
	int rc;

	buf_init(&b, 0);
	job_record(&b, qid, hop, idx, n);
	cr_assert_gt(ipc_decode(b.data, b.len, &m), 0);
	rc = remote_job_parse(j, &m, 100);
	buf_free(&b);
	return rc;
}

Test(remote_job, parses_a_good_record)
{
	static const char *const idx[] = { "0", "2", "17" };
	struct remote_job j;

	cr_assert_eq(parse(&j, QID_TEXT, "mx:example.net", idx, 3), 0);
	cr_assert_null(j.a.bad);
	cr_assert_eq(j.a.id, 42);
	cr_assert_str_eq(j.a.qid, QID_TEXT);
	cr_assert_str_eq(j.a.nexthop, "mx:example.net");
	cr_assert_eq(j.hop.kind, REMOTE_HOP_MX);
	cr_assert_eq(j.a.nrcpt, 3);
	cr_assert_eq(j.a.nleft, 3);
	cr_assert_eq(j.a.rcpts[2].idx, 17);
	agent_job_free(&j.a);
}

Test(remote_job, refuses_bad_records_but_keeps_good_indices)
{
	static const char *const idx[] = { "0", "01", "-1", "x", "",
	    "99999999999", "3" };
	struct remote_job j;

	cr_assert_lt(parse(&j, QID_TEXT, "mx:example.net", idx, 7), 0);
	cr_assert_str_eq(j.a.bad, "bad RCPT_IDX");
	cr_assert_eq(j.a.nrcpt, 2);	/* "0" and "3" can still be answered */
	agent_job_free(&j.a);
	cr_assert_lt(parse(&j, NULL, "mx:example.net", idx, 1), 0);
	cr_assert_str_eq(j.a.bad, "no QID");
	agent_job_free(&j.a);
	cr_assert_lt(parse(&j, "0612c8fe9d046000", "mx:x", idx, 1), 0);
	agent_job_free(&j.a);
	cr_assert_lt(parse(&j, "0612C8FE9D04600", "mx:x", idx, 1), 0);
	agent_job_free(&j.a);
	cr_assert_lt(parse(&j, QID_TEXT, NULL, idx, 1), 0);
	cr_assert_str_eq(j.a.bad, "no NEXTHOP");
	agent_job_free(&j.a);
	cr_assert_lt(parse(&j, QID_TEXT, "local", idx, 1), 0);
	agent_job_free(&j.a);
	cr_assert_lt(parse(&j, QID_TEXT, "mx:x", idx, 0), 0);
	cr_assert_str_eq(j.a.bad, "no RCPT_IDX");
	agent_job_free(&j.a);
}

Test(remote_job, repeated_and_unknown_attributes)
{
	struct buf b;
	struct ipc_msg m;
	struct remote_job j;
	size_t off;

	buf_init(&b, 0);
	off = ipc_begin(&b, IPC_AG_JOB, 1);
	ipc_put_str(&b, IPC_A_QID, QID_TEXT);
	ipc_put_str(&b, IPC_A_NEXTHOP, "mx:a.example");
	ipc_put_str(&b, 200, "from a newer qmgr");
	ipc_put_str(&b, IPC_A_RCPT_IDX, "0");
	ipc_end(&b, off);
	cr_assert_gt(ipc_decode(b.data, b.len, &m), 0);
	cr_assert_eq(remote_job_parse(&j, &m, 100), 0);
	agent_job_free(&j.a);
	ipc_put_str(&b, IPC_A_NEXTHOP, "mx:b.example");	/* grow payload */
	ipc_end(&b, off);
	cr_assert_gt(ipc_decode(b.data, b.len, &m), 0);
	cr_assert_lt(remote_job_parse(&j, &m, 100), 0);
	cr_assert_str_eq(j.a.bad, "bad or repeated NEXTHOP");
	agent_job_free(&j.a);
	/* An attribute running past the payload. */
	b.data[off + 4] = (char)(b.data[off + 4] - 3);
	cr_assert_gt(ipc_decode(b.data, b.len, &m), 0);
	cr_assert_lt(remote_job_parse(&j, &m, 100), 0);
	agent_job_free(&j.a);
	buf_free(&b);
}

Test(remote_job, too_many_indices)
{
	static char num[101][8];
	const char *idx[101];
	struct remote_job j;

	for (size_t i = 0; i < 101; i++) {
		snprintf(num[i], sizeof(num[i]), "%zu", i);
		idx[i] = num[i];
	}
	cr_assert_lt(parse(&j, QID_TEXT, "mx:x", idx, 101), 0);
	cr_assert_str_eq(j.a.bad, "too many RCPT_IDX");
	cr_assert_eq(j.a.nrcpt, 100);
	agent_job_free(&j.a);
}

/* A queue file of qid with recipients a@x, b@y, c@z (b done) in a memfd. */
static int queue_fd(uint64_t qid, int corrupt)
{
	struct queue_rcpt r[3] = {
		{ .addr = "a@x.example", .status = QUEUE_RCPT_PENDING },
		{ .addr = "b@y.example", .status = QUEUE_RCPT_DONE },
		{ .addr = "c@z.example", .status = QUEUE_RCPT_PENDING },
	};
	static const char content[] = "Subject: x\r\n\r\nbody\r\n";
	struct queue_msg m = {
		.qid = qid, .arrival_us = 1764150000123456ULL,
		.origin = "smtp", .client = "", .helo = "", .uid = -1,
		.sender = "s@example.test", .body = "7BIT", .rcpts = r,
		.nrcpt = 3, .content = content, .content_len = sizeof(content) - 1,
	};
	struct buf b;
	int fd = memfd_create("q", 0);

	buf_init(&b, 0);
	cr_assert_eq(queue_file_encode(&m, &b), 0);
	if (corrupt)
		b.data[b.len / 2] ^= 1;
	cr_assert_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	buf_free(&b);
	return fd;
}

static int load(struct remote_job *j, const char *const *idx, size_t n,
    uint64_t fileqid, int corrupt)
{
	uint64_t q;

	cr_assert_eq(qid_parse(QID_TEXT, &q), 0);
	cr_assert_eq(parse(j, QID_TEXT, "mx:x.example", idx, n), 0);
	return agent_job_load(&j->a, queue_fd(fileqid ? fileqid : q, corrupt));
}

Test(remote_job, loads_and_checks_the_queue_file)
{
	static const char *const good[] = { "2", "0" };
	static const char *const done[] = { "1" };
	static const char *const twice[] = { "0", "2", "0" };
	static const char *const range[] = { "3" };
	struct remote_job j;

	cr_assert_eq(load(&j, good, 2, 0, 0), 0);
	cr_assert_str_eq(j.a.rcpts[0].addr, "c@z.example");
	cr_assert_str_eq(j.a.rcpts[1].addr, "a@x.example");
	cr_assert_str_eq(j.a.msg.sender, "s@example.test");
	agent_job_free(&j.a);
	cr_assert_eq(j.a.fd, -1);
	cr_assert_lt(load(&j, done, 1, 0, 0), 0);
	cr_assert_str_eq(j.a.bad, "recipient not pending");
	agent_job_free(&j.a);
	cr_assert_eq(parse(&j, QID_TEXT, "mx:x.example", twice, 3), -EINVAL);
	cr_assert_str_eq(j.a.bad, "repeated RCPT_IDX");
	cr_assert_eq(j.a.nrcpt, 2);	/* answered once each */
	cr_assert_eq(j.a.nleft, 2);
	cr_assert_eq(j.a.rcpts[0].idx, 0);
	cr_assert_eq(j.a.rcpts[1].idx, 2);
	agent_job_free(&j.a);
	cr_assert_lt(load(&j, range, 1, 0, 0), 0);
	cr_assert_str_eq(j.a.bad, "RCPT_IDX out of range");
	agent_job_free(&j.a);
	cr_assert_lt(load(&j, good, 2, 0x0612C8FE9D046001ULL, 0), 0);
	cr_assert_str_eq(j.a.bad, "queue file of another message");
	agent_job_free(&j.a);
	cr_assert_lt(load(&j, good, 2, 0, 1), 0);
	cr_assert_str_eq(j.a.bad, "queue file does not decode");
	agent_job_free(&j.a);
}

Test(remote_job, a_descriptor_that_is_no_file)
{
	static const char *const idx[] = { "0" };
	struct remote_job j;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(parse(&j, QID_TEXT, "mx:x", idx, 1), 0);
	cr_assert_lt(agent_job_load(&j.a, p[0]), 0);
	cr_assert_str_eq(j.a.bad, "queue file descriptor unusable");
	agent_job_free(&j.a);	/* closes p[0] */
	cr_assert_eq(close(p[0]), -1);
	close(p[1]);
}

Test(remote_job, results_once_and_the_records)
{
	static const char *const idx[] = { "0", "2" };
	struct remote_job j;
	struct buf out;
	struct ipc_msg m;
	long used;
	int nrcpt = 0, done = 0;

	cr_assert_eq(load(&j, idx, 2, 0, 0), 0);
	agent_job_set(&j.a, 0, AGENT_BOUNCED, "5.1.1", "mx[192.0.2.1]:25",
	    "550 5.1.1 no\r\nsuch");
	agent_job_set(&j.a, 0, AGENT_SENT, "2.0.0", "mx[192.0.2.1]:25", "250");
	cr_assert_eq(j.a.nleft, 1);
	cr_assert_str_eq(j.a.rcpts[0].text, "550 5.1.1 no??such");
	buf_init(&out, 0);
	agent_job_encode(&j.a, &out);	/* index 2: deferred 4.3.0 */
	for (size_t off = 0; off < out.len; off += (size_t)used) {
		struct ipc_iter it;
		uint16_t tag;
		const char *v;
		uint32_t n;
		char cls[16] = "", dsn[16] = "";

		used = ipc_decode(out.data + off, out.len - off, &m);
		cr_assert_gt(used, 0);
		cr_assert_eq(m.hdr.id, 42);
		if (m.hdr.type == IPC_AG_DONE) {
			cr_assert_eq(m.hdr.len, 0);
			done++;
			continue;
		}
		cr_assert_eq(m.hdr.type, IPC_AG_RCPT);
		cr_assert_eq(done, 0, "DONE comes last");
		ipc_iter_init(&it, &m);
		while (ipc_next(&it, &tag, &v, &n) == 1) {
			if (tag == IPC_A_CLASS)
				memcpy(cls, v, n);
			if (tag == IPC_A_DSN)
				memcpy(dsn, v, n);
		}
		if (nrcpt++ == 0) {
			cr_assert_str_eq(cls, "bounced");
			cr_assert_str_eq(dsn, "5.1.1");
		} else {
			cr_assert_str_eq(cls, "deferred");
			cr_assert_str_eq(dsn, "4.3.0");
		}
	}
	cr_assert_eq(nrcpt, 2);
	cr_assert_eq(done, 1);
	buf_free(&out);
	agent_job_free(&j.a);
}

Test(remote_job, smtputf8_needed_only_for_8bit_envelope_or_headers)
{
	struct agent_rcpt r = { .addr = "a@x.example" };
	struct remote_job j = { .a = { .rcpts = &r, .nrcpt = 1 } };
	static const char ascii[] = "Subject: x\r\n\r\nb\xc3\xa9\r\n";
	static const char utf8[] = "Subject: \xc3\xa9\r\n\r\nb\r\n";

	j.a.msg.sender = "s@example.test";
	j.a.msg.content = ascii;
	j.a.msg.content_len = sizeof(ascii) - 1;
	cr_assert_eq(remote_job_needs_utf8(&j), 0);
	j.a.msg.smtputf8 = 1;
	cr_assert_eq(remote_job_needs_utf8(&j), 0);
	j.a.msg.content = utf8;
	j.a.msg.content_len = sizeof(utf8) - 1;
	cr_assert_eq(remote_job_needs_utf8(&j), 1);
	j.a.msg.content = ascii;
	j.a.msg.content_len = sizeof(ascii) - 1;
	r.addr = "\xc3\xa9@x.example";
	cr_assert_eq(remote_job_needs_utf8(&j), 1);
	j.a.msg.smtputf8 = 0;
	cr_assert_eq(remote_job_needs_utf8(&j), 0);
}
