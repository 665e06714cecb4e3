/* dsn_dump: a test-only driver of queue/dsn.c for tests/system/
 * test_dsn_format.py.  Builds one DSN and writes it to stdout:
 *   dsn_dump [-d] [-m MAX] [-t NOW] [-s SENDER] FILE [ADDR STATUS REMOTE DIAG]...
 * FILE is a queue file, or with -s a raw message (content only) whose
 * envelope sender is SENDER.  Each quadruple is one reported recipient
 * ("-" for no REMOTE or DIAG); none: every recipient of the queue file as
 * 5.0.0.  -d: a delay warning.  Exit 0, 1 if dsn_build refuses, 64 usage. */
#include "queue/dsn.h"
#include "lib/buf.h"
#include "lib/fdio.h"
#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: dsn_dump [-d] [-m MAX] [-t NOW] [-s SENDER] "
	    "FILE [ADDR STATUS REMOTE DIAG]...\n");
	exit(64);
}

/* The original: a queue file, or a raw message with sender. */
static void load(const char *path, const char *sender, struct buf *data,
    struct queue_msg *m)
{
	int fd, rc;

	if (sender == NULL) {
		if ((rc = queue_file_read(path, data, m)) < 0) {
			fprintf(stderr, "dsn_dump: %s: %s\n", path, strerror(-rc));
			exit(1);
		}
		return;
	}
	if ((fd = open(path, O_RDONLY)) < 0 || fdio_read_all(fd, data) < 0) {
		fprintf(stderr, "dsn_dump: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
	m->qid = 0x0612C8FE9D046000ULL;
	m->arrival_us = 1764150000123456ULL;
	m->sender = (char *)sender;
	m->content = data->data;
	m->content_len = data->len;
}

static const char *opt(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

/* The reported recipients: the quadruples in q[0..nq), or (none) every
 * recipient of m as 5.0.0.  Sets *n. */
static struct dsn_rcpt *rcpts(char **q, size_t nq, const struct queue_msg *m,
    const struct dsn_params *p, size_t *n)
{
	struct dsn_rcpt *r;
	size_t i;

	*n = nq ? nq / 4 : m->nrcpt;
	r = xcalloc(*n ? *n : 1, sizeof(*r));
	for (i = 0; i < *n; i++) {
		if (nq == 0) {
			r[i].addr = m->rcpts[i].addr;
			r[i].status = "5.0.0";
		} else {
			r[i].addr = q[4 * i];
			r[i].status = q[4 * i + 1];
			r[i].remote_mta = opt(q[4 * i + 2]);
			r[i].diagnostic = opt(q[4 * i + 3]);
		}
		r[i].last_attempt = p->now - 60;
		if (p->action == DSN_DELAYED)
			r[i].will_retry_until = p->now + 3 * 86400;
	}
	return r;
}

int main(int argc, char **argv)
{
	struct dsn_params p = { .reporting_mta = "mx.test.example",
	    .boundary_seed = "0612C8FE9D046001", .max_returned = 65536 };
	const char *sender = NULL;
	struct queue_msg m = { 0 };
	struct dsn_rcpt *r;
	struct buf data, out;
	size_t n;
	int ch, rc;

	p.now = 1764160000;
	while ((ch = getopt(argc, argv, "dm:t:s:")) != -1) {
		switch (ch) {
		case 'd':
			p.action = DSN_DELAYED;
			break;
		case 'm':
			p.max_returned = strtoul(optarg, NULL, 10);
			break;
		case 't':
			p.now = strtoll(optarg, NULL, 10);
			break;
		case 's':
			sender = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || (argc - optind - 1) % 4 != 0)
		usage();
	buf_init(&data, 0);
	buf_init(&out, 0);
	load(argv[optind], sender, &data, &m);
	r = rcpts(argv + optind + 1, (size_t)(argc - optind - 1), &m, &p, &n);
	rc = dsn_build(&out, &m, m.content, m.content_len, r, n, &p);
	if (rc < 0) {
		fprintf(stderr, "dsn_dump: dsn_build: %s\n", strerror(-rc));
		return 1;
	}
	rc = fdio_write_all(1, out.data, out.len);
	if (sender == NULL)
		queue_msg_free(&m);
	free(r);
	buf_free(&out);
	buf_free(&data);
	return rc < 0 ? 1 : 0;
}
