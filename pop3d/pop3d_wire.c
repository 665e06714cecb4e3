/* pop3d_wire: the stored form -> POP3 wire converter; see pop3d_wire.h.
 * One pass per byte into space reserved up front (at most 2 output bytes
 * per input byte: "\n" -> "\r\n", "." -> ".." at the start of a line). */
#include "pop3d/pop3d_wire.h"
#include "lib/log.h"
#include "lib/mem.h"

void pop3d_wire_init(struct pop3d_wire *w, long top)
{
	w->last_cr = 0;
	w->at_bol = 1;
	w->line_nonempty = 0;
	w->in_body = 0;
	w->done = 0;
	w->top = top;
	w->body_lines = 0;
}

/* A line ended: the header's end, or one more body line for TOP. */
static void line_end(struct pop3d_wire *w)
{
	if (!w->in_body) {
		if (!w->line_nonempty) {
			w->in_body = 1;
			if (w->top == 0)
				w->done = 1;
		}
	} else if (w->top >= 0 && ++w->body_lines >= (unsigned long)w->top) {
		w->done = 1;
	}
	w->line_nonempty = 0;
}

size_t pop3d_wire_conv(struct pop3d_wire *w, const char *in, size_t n,
    struct buf *out)
{
	size_t i;
	char *o;

	if (w->done || n == 0)
		return 0;
	if (buf_reserve(out, size_add(n, n)) < 0)
		panic("wire buffer");
	o = out->data + out->len;
	for (i = 0; i < n && !w->done; i++) {
		char c = in[i];

		if (w->at_bol && c == '.')
			*o++ = '.';
		if (c == '\n') {
			if (!w->last_cr)
				*o++ = '\r';
			*o++ = '\n';
			w->at_bol = 1;
			w->last_cr = 0;
			line_end(w);
			continue;
		}
		*o++ = c;
		w->at_bol = 0;
		w->last_cr = c == '\r';
		if (c != '\r')
			w->line_nonempty = 1;
	}
	out->len = (size_t)(o - out->data);
	return i;
}

void pop3d_wire_end(struct pop3d_wire *w, struct buf *out)
{
	if (!w->at_bol && buf_append(out, "\r\n", 2) < 0)
		panic("wire buffer");
	if (buf_append(out, ".\r\n", 3) < 0)
		panic("wire buffer");
	w->done = 1;
}
