/* Unit tests for queue/queue_file: round trips of many message shapes,
 * refusal of unencodable messages, in-place status updates, and corrupt
 * file detection (every truncation, every single-bit flip). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/mem.h"
#include "queue/queue_file.h"
#include "queue/queue_spool.h"

static struct queue_rcpt rcpts[64];

static void msg_fill(struct queue_msg *m, size_t nrcpt, const char *content,
    size_t clen)
{
	memset(m, 0, sizeof(*m));
	m->qid = 0x0123456789ABC001ull;
	m->arrival_us = 1764150000123456ull;
	m->origin = "smtp";
	m->client = "192.0.2.1";
	m->helo = "mail.example.test";
	m->uid = 106;
	m->sender = "alice@example.test";
	m->body = "8BITMIME";
	m->smtputf8 = 0;
	m->rcpts = rcpts;
	m->nrcpt = nrcpt;
	for (size_t i = 0; i < nrcpt; i++) {
		char *a = xmalloc(64);

		snprintf(a, 64, "rcpt%zu@example.net", i);
		rcpts[i].addr = a;
		rcpts[i].status = QUEUE_RCPT_PENDING;
		rcpts[i].next_attempt = 0;
	}
	m->content = content;
	m->content_len = clen;
}

static void msg_unfill(struct queue_msg *m)
{
	for (size_t i = 0; i < m->nrcpt; i++)
		free(rcpts[i].addr);
}

static void assert_same(const struct queue_msg *a, const struct queue_msg *b)
{
	cr_assert_eq(a->qid, b->qid);
	cr_assert_eq(a->arrival_us, b->arrival_us);
	cr_assert_str_eq(a->origin, b->origin);
	cr_assert_str_eq(a->client ? a->client : "", b->client);
	cr_assert_str_eq(a->helo ? a->helo : "", b->helo);
	cr_assert_eq(a->uid, b->uid);
	cr_assert_str_eq(a->sender, b->sender);
	cr_assert_str_eq(a->body, b->body);
	cr_assert_eq(!!a->smtputf8, !!b->smtputf8);
	cr_assert_eq(a->nrcpt, b->nrcpt);
	for (size_t i = 0; i < a->nrcpt; i++) {
		cr_assert_str_eq(a->rcpts[i].addr, b->rcpts[i].addr);
		cr_assert_eq(a->rcpts[i].status, b->rcpts[i].status);
		cr_assert_eq(a->rcpts[i].next_attempt, b->rcpts[i].next_attempt);
	}
	cr_assert_eq(a->content_len, b->content_len);
	cr_assert(a->content_len == 0 ||
	    memcmp(a->content, b->content, a->content_len) == 0);
}

static void round_trip(const struct queue_msg *m)
{
	struct queue_msg d;
	struct buf b;

	buf_init(&b, 0);
	cr_assert_eq(queue_file_encode(m, &b), 0);
	cr_assert_eq(queue_file_decode(b.data, b.len, &d), 0);
	assert_same(m, &d);
	cr_assert_eq(d.content, b.data + d.content_off);
	queue_msg_free(&d);
	buf_free(&b);
}

Test(queue_file, round_trip_simple)
{
	struct queue_msg m;
	const char *c = "Subject: x\r\n\r\nhello\r\n";

	msg_fill(&m, 1, c, strlen(c));
	round_trip(&m);
	msg_unfill(&m);
}

Test(queue_file, round_trip_many_shapes)
{
	static const char *const senders[] = { "", "a@b", "\"q u\"@x.test",
	    "pct%25@x", "\xc3\xa9l\xc3\xa8ve@exemple.test" };
	static const char *const helos[] = { "", "h", "with space",
	    "ctl\x01\x7f%\tend" };
	char content[600];
	struct queue_msg m;

	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (char)(i * 7);	/* NULs, CRs, 8-bit */
	for (size_t s = 0; s < ARRAY_LEN(senders); s++)
		for (size_t h = 0; h < ARRAY_LEN(helos); h++)
			for (size_t n = 1; n <= 33; n += 16) {
				msg_fill(&m, n, content, (s * 131 + n) %
				    sizeof(content));
				m.sender = (char *)senders[s];
				m.helo = (char *)helos[h];
				m.client = h ? "[2001:db8::1]" : NULL;
				m.uid = h == 1 ? -1 : (int64_t)h * 1000;
				m.smtputf8 = s == 4;
				m.origin = h ? "sendmail" : "smtp";
				m.body = n == 1 ? "7BIT" : "BINARYMIME";
				for (size_t k = 0; k < n; k++) {
					rcpts[k].status = "PDB"[k % 3];
					rcpts[k].next_attempt = k * 999999937u %
					    (QUEUE_NEXT_MAX + 1);
				}
				round_trip(&m);
				msg_unfill(&m);
			}
}

Test(queue_file, round_trip_large_content)
{
	size_t n = 5 * 1024 * 1024;
	char *c = xmalloc(n);
	struct queue_msg m;

	for (size_t i = 0; i < n; i++)
		c[i] = (char)(i ^ (i >> 8));
	msg_fill(&m, 3, c, n);
	round_trip(&m);
	msg_unfill(&m);
	free(c);
}

Test(queue_file, empty_content)
{
	struct queue_msg m;

	msg_fill(&m, 2, NULL, 0);
	round_trip(&m);
	msg_unfill(&m);
}

Test(queue_file, encode_refuses_bad_messages)
{
	struct queue_msg m;
	struct buf b;

	buf_init(&b, 0);
	msg_fill(&m, 0, "x", 1);
	cr_assert_eq(queue_file_encode(&m, &b), -EINVAL);
	cr_assert_eq(b.len, 0);
	msg_fill(&m, 1, "x", 1);
	rcpts[0].status = 'X';
	cr_assert_eq(queue_file_encode(&m, &b), -EINVAL);
	rcpts[0].status = 'P';
	rcpts[0].next_attempt = QUEUE_NEXT_MAX + 1;
	cr_assert_eq(queue_file_encode(&m, &b), -EINVAL);
	rcpts[0].next_attempt = 0;
	free(rcpts[0].addr);
	rcpts[0].addr = xstrdup("");
	cr_assert_eq(queue_file_encode(&m, &b), -EINVAL);
	m.origin = "";
	cr_assert_eq(queue_file_encode(&m, &b), -EINVAL);
	cr_assert_eq(b.len, 0);
	msg_unfill(&m);
	buf_free(&b);
}

Test(queue_file, format_is_readable_text)
{
	struct queue_msg m;
	struct buf b;

	buf_init(&b, 0);
	msg_fill(&m, 1, "hi\r\n", 4);
	cr_assert_eq(queue_file_encode(&m, &b), 0);
	{
		static const char want[] = "MTAQ 1\nid 0123456789ABC001\n"
		    "arrival 1764150000123456\norigin smtp\nclient 192.0.2.1\n"
		    "helo mail.example.test\nuid 106\n"
		    "sender <alice@example.test>\nbody 8BITMIME\nsmtputf8 0\n"
		    "rcpt P 0000000000 ";

		cr_assert_eq(memcmp(b.data, want, sizeof(want) - 1), 0);
	}
	cr_assert(memmem(b.data, b.len, "\nsender <alice@example.test>\n",
	    29) != NULL);
	cr_assert(memmem(b.data, b.len, "\ncontent 4\nhi\r\nend ", 19) != NULL);
	cr_assert_eq(memcmp(b.data, "MTAQ 1\n", 7), 0);
	cr_assert_eq(b.data[b.len - 1], '\n');
	msg_unfill(&m);
	buf_free(&b);
}

Test(queue_file, head_plus_trailer_equals_encode)
{
	struct queue_msg m;
	struct buf full, head;
	char trailer[QUEUE_TRAILER_LEN + 1];
	struct queue_msg d;

	buf_init(&full, 0);
	buf_init(&head, 0);
	msg_fill(&m, 4, "body\r\n", 6);
	cr_assert_eq(queue_file_encode(&m, &full), 0);
	cr_assert_eq(queue_file_encode_head(&m, &head), 0);
	cr_assert_eq(memcmp(full.data, head.data, head.len), 0);
	memcpy(trailer, full.data + full.len - QUEUE_TRAILER_LEN,
	    QUEUE_TRAILER_LEN);
	cr_assert_eq(head.len + 6 + QUEUE_TRAILER_LEN, full.len);
	cr_assert_eq(queue_file_decode(full.data, full.len, &d), 0);
	queue_msg_free(&d);
	msg_unfill(&m);
	buf_free(&full);
	buf_free(&head);
}

Test(queue_file, status_update_in_place_keeps_file_valid)
{
	struct queue_msg m, d;
	char field[QUEUE_STATUS_LEN + 1];
	struct buf b;

	buf_init(&b, 0);
	msg_fill(&m, 3, "x\r\n", 3);
	cr_assert_eq(queue_file_encode(&m, &b), 0);
	cr_assert_eq(queue_file_decode(b.data, b.len, &d), 0);
	queue_file_status_field(QUEUE_RCPT_DONE, 0, field);
	memcpy(b.data + d.rcpts[1].status_off, field, QUEUE_STATUS_LEN);
	queue_file_status_field(QUEUE_RCPT_PENDING, 1764150300, field);
	memcpy(b.data + d.rcpts[2].status_off, field, QUEUE_STATUS_LEN);
	queue_msg_free(&d);
	cr_assert_eq(queue_file_decode(b.data, b.len, &d), 0);
	cr_assert_eq(d.rcpts[0].status, QUEUE_RCPT_PENDING);
	cr_assert_eq(d.rcpts[1].status, QUEUE_RCPT_DONE);
	cr_assert_eq(d.rcpts[2].next_attempt, 1764150300);
	/* Re-encoding the updated message gives the same bytes. */
	{
		struct buf b2;

		buf_init(&b2, 0);
		cr_assert_eq(queue_file_encode(&d, &b2), 0);
		cr_assert_eq(b2.len, b.len);
		cr_assert_eq(memcmp(b2.data, b.data, b.len), 0);
		buf_free(&b2);
	}
	queue_msg_free(&d);
	msg_unfill(&m);
	buf_free(&b);
}

static void small_file(struct buf *b)
{
	struct queue_msg m;

	buf_init(b, 0);
	msg_fill(&m, 2, "Subject: s\r\n\r\nbody %\x01\r\n", 23);
	m.helo = "h%\x02";
	rcpts[1].status = QUEUE_RCPT_BOUNCED;
	rcpts[1].next_attempt = 1234;
	cr_assert_eq(queue_file_encode(&m, b), 0);
	msg_unfill(&m);
}

Test(queue_file, every_truncation_is_detected)
{
	struct queue_msg d;
	struct buf b;

	small_file(&b);
	for (size_t n = 0; n < b.len; n++) {
		char *copy = xmalloc(n ? n : 1);

		memcpy(copy, b.data, n);
		cr_assert_eq(queue_file_decode(copy, n, &d), -EBADMSG,
		    "truncated to %zu of %zu", n, b.len);
		free(copy);
	}
	buf_free(&b);
}

Test(queue_file, trailing_garbage_is_detected)
{
	struct queue_msg d;
	struct buf b;

	small_file(&b);
	buf_append(&b, "x", 1);
	cr_assert_eq(queue_file_decode(b.data, b.len, &d), -EBADMSG);
	buf_free(&b);
}

Test(queue_file, every_bit_flip_is_detected_or_harmless)
{
	struct queue_msg ref, d;
	struct buf b;
	size_t bad = 0;

	small_file(&b);
	cr_assert_eq(queue_file_decode(b.data, b.len, &ref), 0);
	for (size_t i = 0; i < b.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			char *copy = xmalloc(b.len);
			int rc;

			memcpy(copy, b.data, b.len);
			copy[i] ^= (char)(1 << bit);
			rc = queue_file_decode(copy, b.len, &d);
			if (rc == 0) {
				assert_same(&ref, &d);
				queue_msg_free(&d);
			} else {
				cr_assert_eq(rc, -EBADMSG);
				bad++;
			}
			free(copy);
		}
	/* Content bytes are covered by the CRC too: all flips detected. */
	cr_assert_eq(bad, b.len * 8);
	queue_msg_free(&ref);
	buf_free(&b);
}

Test(queue_file, random_garbage_never_crashes)
{
	struct queue_msg d;
	char junk[512];
	unsigned seed = 42;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)rand_r(&seed) % sizeof(junk);

		for (size_t i = 0; i < n; i++)
			junk[i] = (char)rand_r(&seed);
		if (n > 7)
			memcpy(junk, "MTAQ 1\n", 7);
		cr_assert_eq(queue_file_decode(junk, n, &d), -EBADMSG);
	}
	cr_assert_eq(queue_file_decode(NULL, 0, &d), -EBADMSG);
}

Test(queue_file, hostile_lengths_are_not_trusted)
{
	static const char *const files[] = {
		"MTAQ 1\nid 0123456789ABC001\narrival 1\norigin smtp\nclient \n"
		"helo \nuid -\nsender <>\nbody 7BIT\nsmtputf8 0\n"
		"rcpt P 0000000000 C7EF507F <a@b>\n"
		"content 18446744073709551615\nend 00000000\n",
		"MTAQ 1\nid 0123456789ABC001\narrival 99999999999999999999999\n",
		"MTAQ 2\nend 00000000\n",
		"MTAQ 1\nend 00000000\n",
	};
	struct queue_msg d;

	for (size_t i = 0; i < ARRAY_LEN(files); i++)
		cr_assert_eq(queue_file_decode(files[i], strlen(files[i]), &d),
		    -EBADMSG);
}

Test(queue_file, paths_find_and_read)
{
	char dir[] = "/tmp/test_queue_file.XXXXXX", spool[256], path[512];
	struct queue_msg m, d;
	struct buf b, data;
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	cr_assert_eq(queue_spool_init(spool), 0);
	cr_assert_eq(queue_spool_init(spool), 0);	/* idempotent */
	msg_fill(&m, 1, "x\r\n", 3);
	buf_init(&b, 0);
	buf_init(&data, 0);
	cr_assert_eq(queue_file_encode(&m, &b), 0);
	cr_assert_eq(queue_find(spool, m.qid, path, sizeof(path)), -ENOENT);
	cr_assert_eq(queue_path(spool, "hold", m.qid, path, sizeof(path)), 0);
	cr_assert(strstr(path, "/hold/BC/0123456789ABC001") != NULL,
	    "%s", path);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	path[0] = '\0';
	cr_assert_eq(queue_find(spool, m.qid, path, sizeof(path)), 0);
	cr_assert(strstr(path, "/hold/") != NULL);
	cr_assert_eq(queue_file_read(path, &data, &d), 0);
	assert_same(&m, &d);
	queue_msg_free(&d);
	cr_assert_eq(queue_path(spool, "incoming", 1, path, 10), -ENAMETOOLONG);
	msg_unfill(&m);
	buf_free(&b);
	buf_free(&data);
	cr_assert_eq(system(NULL) != 0, 1);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	cr_assert_eq(system(path), 0);
}

/* New recipients only: the file CRC is a plain CRC of the bytes. */
static void fix_crc(struct buf *b)
{
	char tr[QUEUE_TRAILER_LEN + 1];
	size_t hl = b->len - QUEUE_TRAILER_LEN;

	queue_file_trailer(crc32c(0, b->data, hl), tr);
	memcpy(b->data + hl, tr, QUEUE_TRAILER_LEN);
}

Test(queue_file, origin_is_one_of_three)
{
	static const char *const ok[] = { "smtp", "sendmail", "qmgr" };
	struct queue_msg m, d;
	struct buf b;
	char *at;

	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		buf_init(&b, 0);
		msg_fill(&m, 1, "x\r\n", 3);
		m.origin = (char *)ok[i];
		cr_assert_eq(queue_file_encode(&m, &b), 0, "%s", ok[i]);
		cr_assert_eq(queue_file_decode(b.data, b.len, &d), 0, "%s",
		    ok[i]);
		cr_assert_str_eq(d.origin, ok[i]);
		queue_msg_free(&d);
		/* Same length, unknown value (the CRC is fixed up, so only
		 * the origin check can refuse it). */
		if (strcmp(ok[i], "qmgr") == 0) {
			struct buf e;

			buf_init(&e, 0);
			m.origin = "qmgx";
			cr_assert_eq(queue_file_encode(&m, &e), -EINVAL);
			at = memmem(b.data, b.len, "origin qmgr\n", 12);
			cr_assert_not_null(at);
			memcpy(at + 7, "smtp", 4);	/* control: valid */
			fix_crc(&b);
			cr_assert_eq(queue_file_decode(b.data, b.len, &d), 0);
			queue_msg_free(&d);
			memcpy(at + 7, "smtq", 4);
			fix_crc(&b);
			cr_assert_eq(queue_file_decode(b.data, b.len, &d),
			    -EBADMSG);
			buf_free(&e);
		}
		msg_unfill(&m);
		buf_free(&b);
	}
}
