/* libFuzzer target for what mta-remote reads from a hostile server: the
 * SMTP reply parser (deliver/remote_reply.c) with the EHLO keyword parser
 * (deliver/remote_ehlo.c) on its line hook, fed the way the session feeds
 * them (replies taken one after another until more input is needed or a
 * protocol error).  The first byte picks the piece size.  Checked: the
 * same bytes whole and in pieces give the same replies, the same EHLO
 * extensions and the same verdict; a reply uses at least one byte and no
 * more than it was given; every reply is sane (code 200..559, 1..200
 * lines, the enhanced code's class is the reply's, the kept text is
 * terminated, printable and within REMOTE_TEXT_MAX).
 * Built and run by tests/fuzz/run. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/remote_ehlo.h"
#include "deliver/remote_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct remote_rparse rp;
	struct remote_ehlo ehlo;
	unsigned lines;			/* line hook calls */
	unsigned nreplies;
	uint64_t hash;			/* of every reply, in order */
	int rc;				/* last feed result */
};

static void on_line(void *arg, const char *text, size_t n, unsigned lineno)
{
	struct run *run = arg;

	if (lineno != run->rp.r.nlines || lineno == 0)
		abort();
	run->lines++;
	remote_ehlo_line(&run->ehlo, text, n, lineno);
}

static void check_reply(const struct remote_reply *r)
{
	size_t dl = strnlen(r->dsn, sizeof(r->dsn));

	if (r->code < 200 || r->code > 559 || r->nlines < 1 ||
	    r->nlines > REMOTE_REPLY_LINES_MAX)
		abort();
	if (r->textlen < 3 || r->textlen > REMOTE_TEXT_MAX ||
	    strlen(r->text) != r->textlen)
		abort();
	for (size_t i = 0; i < r->textlen; i++)
		if ((unsigned char)r->text[i] < 0x20 || r->text[i] == 0x7f)
			abort();
	if (dl == sizeof(r->dsn) || (dl > 0 && r->dsn[0] != r->text[0]))
		abort();
}

static void mix(struct run *run, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		run->hash = (run->hash ^ b[i]) * 0x100000001b3ull;
}

static void feed(struct run *run, const char *p, size_t n)
{
	while (n > 0 && run->rc >= 0) {
		size_t used = 0;

		run->rc = remote_reply_feed(&run->rp, p, n, &used);
		if (run->rc < 0)
			return;
		if (run->rc == 0) {
			if (used != n)
				abort();
			return;
		}
		if (used == 0 || used > n)
			abort();
		check_reply(&run->rp.r);
		mix(run, &run->rp.r.code, sizeof(run->rp.r.code));
		mix(run, &run->rp.r.nlines, sizeof(run->rp.r.nlines));
		mix(run, run->rp.r.dsn, strlen(run->rp.r.dsn) + 1);
		mix(run, run->rp.r.text, run->rp.r.textlen + 1);
		run->nreplies++;
		p += used;
		n -= used;
	}
}

static void parse(struct run *run, const char *p, size_t n, size_t step)
{
	memset(run, 0, sizeof(*run));
	remote_reply_init(&run->rp);
	run->rp.line_fn = on_line;
	run->rp.line_arg = run;
	remote_ehlo_reset(&run->ehlo);
	run->hash = 0xcbf29ce484222325ull;
	for (size_t off = 0; off < n && run->rc >= 0; off += step)
		feed(run, p + off, n - off < step ? n - off : step);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, pieces;
	const char *p = (const char *)data + 1;
	size_t step;

	if (size < 1)
		return 0;
	step = 1 + data[0];
	size--;
	parse(&whole, p, size, size ? size : 1);
	parse(&pieces, p, size, step);
	if ((whole.rc < 0) != (pieces.rc < 0) ||
	    whole.nreplies != pieces.nreplies || whole.hash != pieces.hash ||
	    whole.lines != pieces.lines ||
	    whole.ehlo.ext != pieces.ehlo.ext ||
	    whole.ehlo.size != pieces.ehlo.size)
		abort();
	if (whole.rc < 0 && (whole.rp.why == NULL ||
	    strcmp(whole.rp.why, pieces.rp.why) != 0))
		abort();
	if (whole.ehlo.size != 0 && !(whole.ehlo.ext & REMOTE_EXT_SIZE))
		abort();
	return 0;
}
