/* Unit tests for lib/ipc.c: encode/decode round trip, truncated input
 * asks for more, bad types and oversized lengths are -EPROTO, malformed
 * attributes are -EPROTO, the blocking record reader, and fd passing over
 * a socketpair. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/ipc.h"
#include "lib/mem.h"

/* A BEGIN record with a few attributes, as smtpd sends it. */
static size_t make_begin(struct buf *b, uint64_t id)
{
	size_t off = ipc_begin(b, IPC_QW_BEGIN, id);

	ipc_put_str(b, IPC_A_ORIGIN, "smtp");
	ipc_put_str(b, IPC_A_SENDER, "");
	ipc_put_str(b, IPC_A_RCPT, "a@example.test");
	ipc_put_str(b, IPC_A_RCPT, "b@example.test");
	ipc_put(b, IPC_A_SMTPUTF8, NULL, 0);
	ipc_end(b, off);
	return off;
}

static void put_le(char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (char)(v >> (8 * i));
}

/* A bare header with the given fields. */
static void make_hdr(char h[IPC_HDR_LEN], uint16_t type, uint32_t len,
    uint64_t id)
{
	put_le(h, type, 2);
	put_le(h + 2, 0, 2);
	put_le(h + 4, len, 4);
	put_le(h + 8, id, 8);
}

Test(ipc, round_trip_of_a_record_with_attributes)
{
	struct buf b;
	struct ipc_msg m;
	struct ipc_iter it;
	static const struct {
		uint16_t tag;
		const char *val;
	} want[] = {
		{ IPC_A_ORIGIN, "smtp" }, { IPC_A_SENDER, "" },
		{ IPC_A_RCPT, "a@example.test" }, { IPC_A_RCPT, "b@example.test" },
		{ IPC_A_SMTPUTF8, "" },
	};
	uint16_t tag;
	const char *val;
	uint32_t len;
	size_t i = 0;

	buf_init(&b, 0);
	make_begin(&b, 0x0123456789ABCDEFull);
	cr_assert_eq(ipc_decode(b.data, b.len, &m), (long)b.len);
	cr_assert_eq(m.hdr.type, IPC_QW_BEGIN);
	cr_assert_eq(m.hdr.flags, 0);
	cr_assert_eq(m.hdr.id, 0x0123456789ABCDEFull);
	cr_assert_eq(m.hdr.len, b.len - IPC_HDR_LEN);
	cr_assert_eq(m.payload, b.data + IPC_HDR_LEN);
	ipc_iter_init(&it, &m);
	while (ipc_next(&it, &tag, &val, &len) == 1) {
		cr_assert_lt(i, ARRAY_LEN(want));
		cr_assert_eq(tag, want[i].tag);
		cr_assert_eq(len, strlen(want[i].val));
		cr_assert_eq(memcmp(val, want[i].val, len), 0);
		i++;
	}
	cr_assert_eq(i, ARRAY_LEN(want));
	cr_assert_eq(ipc_next(&it, &tag, &val, &len), 0);
	buf_free(&b);
}

Test(ipc, raw_data_record_keeps_binary_bytes)
{
	struct buf b;
	struct ipc_msg m;
	char data[1000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	buf_init(&b, 0);
	ipc_put_raw(&b, IPC_QW_DATA, 42, data, sizeof(data));
	cr_assert_eq(ipc_decode(b.data, b.len, &m), IPC_HDR_LEN + 1000);
	cr_assert_eq(m.hdr.type, IPC_QW_DATA);
	cr_assert_eq(m.hdr.id, 42);
	cr_assert_eq(m.hdr.len, 1000);
	cr_assert_eq(memcmp(m.payload, data, 1000), 0);
	buf_free(&b);
}

Test(ipc, empty_record_round_trips)
{
	struct buf b;
	struct ipc_msg m;
	struct ipc_iter it;
	uint16_t tag;
	const char *val;
	uint32_t len;

	buf_init(&b, 0);
	ipc_end(&b, ipc_begin(&b, IPC_QW_COMMIT, 7));
	cr_assert_eq(b.len, IPC_HDR_LEN);
	cr_assert_eq(ipc_decode(b.data, b.len, &m), IPC_HDR_LEN);
	cr_assert_eq(m.hdr.type, IPC_QW_COMMIT);
	cr_assert_eq(m.hdr.len, 0);
	ipc_iter_init(&it, &m);
	cr_assert_eq(ipc_next(&it, &tag, &val, &len), 0);
	buf_free(&b);
}

Test(ipc, several_records_decode_in_sequence)
{
	struct buf b;
	struct ipc_msg m;
	long used;
	size_t pos = 0;
	uint16_t types[] = { IPC_QW_BEGIN, IPC_QW_DATA, IPC_QW_DATA,
		IPC_QW_COMMIT };

	buf_init(&b, 0);
	make_begin(&b, 1);
	ipc_put_raw(&b, IPC_QW_DATA, 1, "Subject: x\r\n", 12);
	ipc_put_raw(&b, IPC_QW_DATA, 1, "\r\nbody\r\n", 8);
	ipc_end(&b, ipc_begin(&b, IPC_QW_COMMIT, 1));
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		used = ipc_decode(b.data + pos, b.len - pos, &m);
		cr_assert_gt(used, 0);
		cr_assert_eq(m.hdr.type, types[i]);
		pos += (size_t)used;
	}
	cr_assert_eq(pos, b.len);
	cr_assert_eq(ipc_decode(b.data + pos, 0, &m), 0);
	buf_free(&b);
}

Test(ipc, truncated_input_asks_for_more)
{
	struct buf b;
	struct ipc_msg m;

	buf_init(&b, 0);
	make_begin(&b, 9);
	for (size_t n = 0; n < b.len; n++)
		cr_assert_eq(ipc_decode(b.data, n, &m), 0, "at %zu bytes", n);
	cr_assert_eq(ipc_decode(b.data, b.len, &m), (long)b.len);
	buf_free(&b);
}

Test(ipc, bad_type_is_eproto)
{
	char h[IPC_HDR_LEN];
	struct ipc_msg m;

	make_hdr(h, IPC_NONE, 0, 1);
	cr_assert_eq(ipc_decode(h, sizeof(h), &m), -EPROTO);
	make_hdr(h, IPC_TYPE_MAX, 0, 1);
	cr_assert_eq(ipc_decode(h, sizeof(h), &m), -EPROTO);
	make_hdr(h, 0xffff, 0, 1);
	cr_assert_eq(ipc_decode(h, sizeof(h), &m), -EPROTO);
	make_hdr(h, IPC_TYPE_MAX - 1, 0, 1);
	cr_assert_eq(ipc_decode(h, sizeof(h), &m), IPC_HDR_LEN);
}

Test(ipc, oversized_length_is_eproto_before_the_payload_arrives)
{
	char h[IPC_HDR_LEN];
	struct ipc_msg m;

	make_hdr(h, IPC_QW_DATA, IPC_PAYLOAD_MAX + 1, 1);
	cr_assert_eq(ipc_decode(h, sizeof(h), &m), -EPROTO);
	make_hdr(h, IPC_QW_DATA, 0xffffffffu, 1);
	cr_assert_eq(ipc_decode(h, sizeof(h), &m), -EPROTO);
	make_hdr(h, IPC_QW_DATA, IPC_PAYLOAD_MAX, 1);
	cr_assert_eq(ipc_decode(h, sizeof(h), &m), 0);	/* legal: wait */
}

Test(ipc, malformed_attributes_are_eproto)
{
	struct buf b;
	struct ipc_msg m;
	struct ipc_iter it;
	uint16_t tag;
	const char *val;
	uint32_t len;
	char a[6];
	size_t off;

	/* An attribute claiming more bytes than the record holds. */
	buf_init(&b, 0);
	off = ipc_begin(&b, IPC_QW_BEGIN, 1);
	put_le(a, IPC_A_RCPT, 2);
	put_le(a + 2, 100, 4);
	buf_append(&b, a, sizeof(a));
	buf_append(&b, "short", 5);
	ipc_end(&b, off);
	cr_assert_gt(ipc_decode(b.data, b.len, &m), 0);
	ipc_iter_init(&it, &m);
	cr_assert_eq(ipc_next(&it, &tag, &val, &len), -EPROTO);
	buf_free(&b);

	/* A length that would wrap a 32-bit sum. */
	buf_init(&b, 0);
	off = ipc_begin(&b, IPC_QW_BEGIN, 1);
	put_le(a + 2, 0xfffffffau, 4);
	buf_append(&b, a, sizeof(a));
	buf_append(&b, "xxxxxxxx", 8);
	ipc_end(&b, off);
	cr_assert_gt(ipc_decode(b.data, b.len, &m), 0);
	ipc_iter_init(&it, &m);
	cr_assert_eq(ipc_next(&it, &tag, &val, &len), -EPROTO);
	buf_free(&b);

	/* A valid attribute followed by 1..5 stray bytes. */
	for (size_t stray = 1; stray < 6; stray++) {
		buf_init(&b, 0);
		off = ipc_begin(&b, IPC_QW_BEGIN, 1);
		ipc_put_str(&b, IPC_A_HELO, "client.test");
		buf_append(&b, "\0\0\0\0\0", stray);
		ipc_end(&b, off);
		cr_assert_gt(ipc_decode(b.data, b.len, &m), 0);
		ipc_iter_init(&it, &m);
		cr_assert_eq(ipc_next(&it, &tag, &val, &len), 1);
		cr_assert_eq(ipc_next(&it, &tag, &val, &len), -EPROTO);
		buf_free(&b);
	}
}

Test(ipc, oversized_attribute_is_a_bug, .signal = SIGABRT)
{
	struct buf b;
	char *big = xcalloc(1, IPC_PAYLOAD_MAX + 1);

	buf_init(&b, 0);
	ipc_begin(&b, IPC_QW_BEGIN, 1);
	ipc_put(&b, IPC_A_TEXT, big, IPC_PAYLOAD_MAX + 1);
}

Test(ipc, send_all_and_read_msg_over_a_socketpair)
{
	int sv[2];
	struct buf out, in;
	struct ipc_msg m;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	buf_init(&out, 0);
	buf_init(&in, 0);
	make_begin(&out, 5);
	ipc_put_raw(&out, IPC_QW_DATA, 5, "hello", 5);
	cr_assert_eq(fdio_send_all(sv[0], out.data, out.len), 0);
	close(sv[0]);
	cr_assert_eq(ipc_read_msg(sv[1], &in, &m), 0);
	cr_assert_eq(m.hdr.type, IPC_QW_BEGIN);
	buf_consume(&in, IPC_HDR_LEN + m.hdr.len);
	cr_assert_eq(ipc_read_msg(sv[1], &in, &m), 0);
	cr_assert_eq(m.hdr.type, IPC_QW_DATA);
	cr_assert_eq(memcmp(m.payload, "hello", 5), 0);
	buf_consume(&in, IPC_HDR_LEN + m.hdr.len);
	cr_assert_eq(ipc_read_msg(sv[1], &in, &m), -EPIPE);
	close(sv[1]);
	buf_free(&out);
	buf_free(&in);
}

Test(ipc, read_msg_rejects_garbage)
{
	int sv[2];
	struct buf in;
	struct ipc_msg m;
	char h[IPC_HDR_LEN];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	buf_init(&in, 0);
	make_hdr(h, 999, 0, 1);
	cr_assert_eq(fdio_send_all(sv[0], h, sizeof(h)), 0);
	cr_assert_eq(ipc_read_msg(sv[1], &in, &m), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	buf_free(&in);
}

Test(ipc, read_msg_respects_the_buffer_limit)
{
	int sv[2];
	struct buf out, in;
	struct ipc_msg m;
	char data[8192] = { 0 };

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	buf_init(&out, 0);
	buf_init(&in, 1024);
	ipc_put_raw(&out, IPC_QW_DATA, 1, data, sizeof(data));
	cr_assert_eq(fdio_send_all(sv[0], out.data, out.len), 0);
	cr_assert_eq(ipc_read_msg(sv[1], &in, &m), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	buf_free(&out);
	buf_free(&in);
}

Test(ipc, fd_passing_over_a_socketpair)
{
	int sv[2], p[2], fd = -1;
	char got[16];
	long n;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(ipc_send_fd(sv[0], "job", 3, p[1]), 0);
	n = ipc_recv_fd(sv[1], got, sizeof(got), &fd);
	cr_assert_eq(n, 3);
	cr_assert_eq(memcmp(got, "job", 3), 0);
	cr_assert_geq(fd, 0);
	cr_assert_neq(fd, p[1]);		/* a new descriptor */
	close(p[1]);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(write(fd, "through", 7), 7);
	close(fd);
	cr_assert_eq(read(p[0], got, sizeof(got)), 7);
	cr_assert_eq(memcmp(got, "through", 7), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

Test(ipc, recv_fd_without_an_fd_gives_minus_one)
{
	int sv[2], fd = 123;
	char got[8];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(write(sv[0], "plain", 5), 5);
	cr_assert_eq(ipc_recv_fd(sv[1], got, sizeof(got), &fd), 5);
	cr_assert_eq(fd, -1);
	close(sv[0]);
	cr_assert_eq(ipc_recv_fd(sv[1], got, sizeof(got), &fd), 0);
	close(sv[1]);
}
