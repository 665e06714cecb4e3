/* Unit tests for smtpd/smtpd_data.c and smtpd_bdat.c: the DATA decoder
 * fed every split of its input (two and three pieces, byte by byte) must
 * give the same result; SMTP smuggling sequences (<LF>.<LF>, <CR>.<CR>,
 * <LF>.<CR><LF>, <CR><LF>.<LF> ...) never end the data; dot-unstuffing,
 * normalize vs reject, the size limit, BDAT raw mode; and a randomized
 * comparison with a straightforward reference implementation. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "smtpd/smtpd_bdat.h"
#include "smtpd/smtpd_data.h"

struct result {
	struct buf out;
	size_t used;
	int done;
	unsigned flags;
	int saw_bare;
	uint64_t size;
};

/* Feed in[0..len) in pieces cut at cuts[0..ncuts), stopping at the end. */
static void run_split(const char *in, size_t len, unsigned mode,
    uint64_t limit, const size_t *cuts, size_t ncuts, struct result *r)
{
	struct smtpd_data d;
	size_t start = 0;

	buf_init(&r->out, 0);
	smtpd_data_init(&d, mode, limit);
	r->used = 0;
	for (size_t i = 0; i <= ncuts && !d.done; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		size_t k = smtpd_data_feed(&d, in + start, end - start,
		    &r->out);

		r->used += k;
		if (!d.done)
			cr_assert_eq(k, end - start, "a piece left over");
		start = end;
	}
	if (mode & SMTPD_DATA_RAW)
		smtpd_data_finish(&d, &r->out);
	r->done = d.done;
	r->flags = d.flags;
	r->saw_bare = d.saw_bare;
	r->size = d.size;
}

static void same(const struct result *a, const struct result *b,
    const char *what)
{
	cr_assert_eq(a->used, b->used, "%s: used %zu vs %zu", what, a->used,
	    b->used);
	cr_assert_eq(a->done, b->done, "%s: done", what);
	cr_assert_eq(a->flags, b->flags, "%s: flags", what);
	cr_assert_eq(a->size, b->size, "%s: size", what);
	cr_assert_eq(a->out.len, b->out.len, "%s: output length %zu vs %zu",
	    what, a->out.len, b->out.len);
	cr_assert(a->out.len == 0 ||
	    memcmp(a->out.data, b->out.data, a->out.len) == 0, "%s: output",
	    what);
}

/* The whole input at once, then every 2- and 3-piece split and byte by
 * byte must agree. */
static void run_all_splits(const char *in, size_t len, unsigned mode,
    uint64_t limit, struct result *whole)
{
	size_t cuts[2], *bytes;
	struct result r;

	run_split(in, len, mode, limit, NULL, 0, whole);
	for (size_t i = 0; i <= len; i++) {
		cuts[0] = i;
		run_split(in, len, mode, limit, cuts, 1, &r);
		same(whole, &r, "2-piece split");
		buf_free(&r.out);
		for (size_t j = i; j <= len && len <= 64; j++) {
			cuts[1] = j;
			run_split(in, len, mode, limit, cuts, 2, &r);
			same(whole, &r, "3-piece split");
			buf_free(&r.out);
		}
	}
	bytes = xcalloc(len + 1, sizeof(*bytes));
	for (size_t i = 0; i < len; i++)
		bytes[i] = i;
	run_split(in, len, mode, limit, bytes, len, &r);
	same(whole, &r, "byte by byte");
	buf_free(&r.out);
	free(bytes);
}

struct data_case {
	char in[64];
	char out[64];		/* normalize mode */
	int done;
	size_t used;		/* 0: all of it */
	int bare;
};

ParameterizedTestParameters(smtpd_data, decodes_every_split)
{
	static struct data_case t[] = {
		{ "Hello\r\n.\r\n", "Hello\r\n", 1, 0, 0 },
		{ ".\r\n", "", 1, 0, 0 },
		{ "\r\n.\r\n", "\r\n", 1, 0, 0 },
		{ "..dot\r\n.\r\n", ".dot\r\n", 1, 0, 0 },
		{ ".x\r\n.\r\n", "x\r\n", 1, 0, 0 },
		{ "a\r\n..\r\n.\r\n", "a\r\n.\r\n", 1, 0, 0 },
		{ "a\r\n...\r\n.\r\n", "a\r\n..\r\n", 1, 0, 0 },
		{ "a\r\n.\r\nMAIL FROM:<x>\r\n", "a\r\n", 1, 6, 0 },
		{ "a\r\n.\r\n.\r\n", "a\r\n", 1, 6, 0 },
		{ "abc\r\n", "abc\r\n", 0, 0, 0 },
		{ "a\r\n.\r", "a\r\n", 0, 0, 0 },
		{ "a\r\n.", "a\r\n", 0, 0, 0 },
		{ "a\r\r\n.\r\n", "a\r\n\r\n", 1, 0, 1 },
		/* smuggling attempts: none of these ends the data */
		{ "a\n.\nMAIL FROM:<x>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x>\r\n",
		  1, 0, 1 },
		{ "a\r\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", 1, 0, 1 },
		{ "a\r.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n", 1, 0, 1 },
		{ "a\n.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", 1, 0, 1 },
		{ "a\r\n.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n", 1, 0, 1 },
		{ "a\r.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", 1, 0, 1 },
		{ "a\n.\n", "a\r\n.\r\n", 0, 0, 1 },
		{ "a\r.\r", "a\r\n", 0, 0, 1 },
		{ "a\n.\r\n", "a\r\n.\r\n", 0, 0, 1 },
		{ "a\r\n.\n", "a\r\n.\r\n", 0, 0, 1 },
		{ "\n.\n.\r\n.\r\n", "\r\n.\r\n.\r\n", 1, 0, 1 },
		{ "a\n..\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", 1, 0, 1 },
		{ "a\nb\rc\r\n.\r\n", "a\r\nb\r\nc\r\n", 1, 0, 1 },
		{ "\0\r\n.\r\n", "", 1, 0, 0 },	/* NUL is content (len below) */
	};
	return cr_make_param_array(struct data_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct data_case *tc, smtpd_data, decodes_every_split)
{
	size_t len = tc->in[0] == '\0' ? 6 : strlen(tc->in);
	size_t olen = tc->in[0] == '\0' ? 3 : strlen(tc->out);
	const char *want = tc->in[0] == '\0' ? "\0\r\n" : tc->out;
	struct result r, rj;

	run_all_splits(tc->in, len, 0, 0, &r);
	cr_assert_eq(r.done, tc->done, "%s: done", tc->in);
	cr_assert_eq(r.used, tc->used ? tc->used : len, "%s: used %zu",
	    tc->in, r.used);
	cr_assert_eq(r.out.len, olen, "%s: output length %zu", tc->in,
	    r.out.len);
	cr_assert(olen == 0 || memcmp(r.out.data, want, olen) == 0,
	    "%s: output", tc->in);
	cr_assert_eq(r.flags, 0);
	cr_assert_eq(r.saw_bare, tc->bare, "%s: bare", tc->in);
	cr_assert_eq(r.size, olen);
	/* Reject mode: the same framing; bare CR/LF poisons the message. */
	run_all_splits(tc->in, len, SMTPD_DATA_REJECT_BARE, 0, &rj);
	cr_assert_eq(rj.done, r.done);
	cr_assert_eq(rj.used, r.used);
	cr_assert_eq(rj.flags, tc->bare ? SMTPD_DATA_BARE : 0u, "%s", tc->in);
	if (!tc->bare)
		cr_assert_eq(rj.out.len, r.out.len);
	buf_free(&r.out);
	buf_free(&rj.out);
}

Test(smtpd_data, size_limit_counts_decoded_bytes)
{
	const char in[] = "0123456789\r\n..\r\n.\r\n";	/* 15 bytes out */
	struct result r;

	run_all_splits(in, strlen(in), 0, 15, &r);
	cr_assert_eq(r.flags, 0);
	cr_assert_eq(r.size, 15);
	cr_assert_eq(r.out.len, 15);
	buf_free(&r.out);
	run_all_splits(in, strlen(in), 0, 14, &r);
	cr_assert_eq(r.flags, SMTPD_DATA_TOOBIG);
	cr_assert(r.done, "consumed to the real end");
	cr_assert_eq(r.used, strlen(in));
	cr_assert_eq(r.size, 15);
	cr_assert_leq(r.out.len, 14, "no output past the limit");
	buf_free(&r.out);
}

Test(smtpd_data, oversize_message_streams_in_bounded_memory)
{
	struct smtpd_data d;
	struct buf out;
	char chunk[4096];

	memset(chunk, 'x', sizeof(chunk));
	chunk[sizeof(chunk) - 2] = '\r';
	chunk[sizeof(chunk) - 1] = '\n';
	buf_init(&out, 0);
	smtpd_data_init(&d, 0, 1024 * 1024);
	for (int i = 0; i < 1024; i++) {	/* 4 MiB against 1 MiB */
		cr_assert_eq(smtpd_data_feed(&d, chunk, sizeof(chunk), &out),
		    sizeof(chunk));
		if (out.len > 64 * 1024)
			buf_reset(&out);
	}
	cr_assert_eq(smtpd_data_feed(&d, ".\r\n", 3, &out), 3);
	cr_assert(d.done);
	cr_assert_eq(d.flags, SMTPD_DATA_TOOBIG);
	cr_assert_eq(d.size, 4u * 1024 * 1024);
	cr_assert_leq(out.cap, 256 * 1024);
	buf_free(&out);
}

struct raw_case {
	char in[32];
	char out[40];
	int bare;
};

ParameterizedTestParameters(smtpd_data, raw_mode_for_bdat)
{
	static struct raw_case t[] = {
		{ "a\r\nb\r\n", "a\r\nb\r\n", 0 },
		{ "a\nb\r\nc", "a\r\nb\r\nc\r\n", 1 },
		{ "a\r", "a\r\n", 1 },
		{ "a\rb", "a\r\nb\r\n", 1 },
		{ ".\r\n", ".\r\n", 0 },
		{ "x\r\n.\r\ny\r\n", "x\r\n.\r\ny\r\n", 0 },
		{ "..x\r\n", "..x\r\n", 0 },
		{ "", "", 0 },
		{ "\r\n", "\r\n", 0 },
	};
	return cr_make_param_array(struct raw_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct raw_case *tc, smtpd_data, raw_mode_for_bdat)
{
	struct result r;

	run_all_splits(tc->in, strlen(tc->in), SMTPD_DATA_RAW, 0, &r);
	cr_assert_eq(r.done, 0);
	cr_assert_eq(r.used, strlen(tc->in));
	cr_assert_eq(r.out.len, strlen(tc->out), "%s", tc->in);
	cr_assert(r.out.len == 0 || memcmp(r.out.data, tc->out,
	    r.out.len) == 0, "%s", tc->in);
	cr_assert_eq(r.saw_bare, tc->bare);
	buf_free(&r.out);
	run_split(tc->in, strlen(tc->in), SMTPD_DATA_RAW |
	    SMTPD_DATA_REJECT_BARE, 0, NULL, 0, &r);
	cr_assert_eq(r.flags, tc->bare ? SMTPD_DATA_BARE : 0u);
	buf_free(&r.out);
}

Test(smtpd_bdat, chunk_accounting_stops_at_the_chunk_end)
{
	const char in[] = "a\r\nbcBDAT 3 LAST\r\nxyz";
	struct smtpd_data d;
	struct smtpd_bdat b;
	struct buf out;
	size_t k;

	buf_init(&out, 0);
	smtpd_data_init(&d, SMTPD_DATA_RAW, 0);
	smtpd_bdat_start(&b, 5, 0);
	k = smtpd_bdat_feed(&b, &d, in, 2, &out);
	cr_assert_eq(k, 2);
	cr_assert(!smtpd_bdat_done(&b));
	k = smtpd_bdat_feed(&b, &d, in + 2, sizeof(in) - 3, &out);
	cr_assert_eq(k, 3, "only the chunk's octets");
	cr_assert(smtpd_bdat_done(&b));
	cr_assert_eq(b.last, 0);
	smtpd_bdat_start(&b, 3, 1);
	k = smtpd_bdat_feed(&b, NULL, in + 18, 3, NULL);	/* skipped */
	cr_assert_eq(k, 3);
	cr_assert(smtpd_bdat_done(&b));
	cr_assert(b.last);
	smtpd_data_finish(&d, &out);
	cr_assert_eq(out.len, 7);
	cr_assert(memcmp(out.data, "a\r\nbc\r\n", 7) == 0);
	smtpd_bdat_start(&b, 0, 1);
	cr_assert(smtpd_bdat_done(&b));
	buf_free(&out);
}

/* The reference: find "\r\n.\r\n" in CRLF + input; normalise line ends;
 * unstuff lines that start with a dot and have more characters. */
static int reference(const char *in, size_t len, struct buf *out,
    size_t *used)
{
	struct buf raw, norm;
	size_t content = 0, i;
	int done = 0;

	buf_init(&raw, 0);
	buf_init(&norm, 0);
	buf_append(&raw, "\r\n", 2);
	buf_append(&raw, in, len);
	for (i = 0; i + 5 <= raw.len; i++)
		if (memcmp(raw.data + i, "\r\n.\r\n", 5) == 0) {
			done = 1;
			break;
		}
	if (!done) {
		buf_free(&raw);
		return 0;
	}
	content = i;		/* in input coordinates: [0, i) */
	*used = i + 3;
	for (size_t k = 0; k < content; k++) {
		char c = in[k];

		if (c == '\r' && k + 1 < content && in[k + 1] == '\n')
			continue;	/* the LF writes the CRLF */
		if (c == '\r' || c == '\n')
			buf_append(&norm, "\r\n", 2);
		else
			buf_append(&norm, &c, 1);
	}
	for (size_t k = 0; k < norm.len;) {
		char *e = memmem(norm.data + k, norm.len - k, "\r\n", 2);
		size_t l = (size_t)(e - (norm.data + k));

		if (l > 1 && norm.data[k] == '.')
			buf_append(out, norm.data + k + 1, l - 1);
		else
			buf_append(out, norm.data + k, l);
		buf_append(out, "\r\n", 2);
		k += l + 2;
	}
	buf_free(&raw);
	buf_free(&norm);
	return 1;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

Test(smtpd_data, matches_reference_on_random_input)
{
	/* Short runs stress the state machine, long ones the word scan. */
	static const char dense[] = "a.\r\n", sparse[] = "abcdefghijklm.\r\n";
	unsigned seed = 12345;
	char in[160];

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(in));
		size_t cuts[3], used = 0;
		struct result r;
		struct buf ref;
		int done;

		for (size_t i = 0; i < len; i++)
			in[i] = iter % 2 ? dense[rand_r(&seed) % 4] :
			    sparse[rand_r(&seed) % 16];
		for (int k = 0; k < 3; k++)
			cuts[k] = len ? (size_t)(rand_r(&seed) % (len + 1)) : 0;
		qsort(cuts, 3, sizeof(cuts[0]), cmp_size);
		run_split(in, len, 0, 0, cuts, 3, &r);
		buf_init(&ref, 0);
		done = reference(in, len, &ref, &used);
		cr_assert_eq(r.done, done, "iteration %d: done", iter);
		if (done) {
			cr_assert_eq(r.used, used, "iteration %d: used", iter);
			cr_assert_eq(r.out.len, ref.len, "iteration %d: length",
			    iter);
			cr_assert(ref.len == 0 || memcmp(r.out.data, ref.data,
			    ref.len) == 0, "iteration %d: output", iter);
		} else {
			cr_assert_eq(r.used, len);
		}
		buf_free(&ref);
		buf_free(&r.out);
	}
}
