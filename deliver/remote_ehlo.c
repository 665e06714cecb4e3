/* remote_ehlo: EHLO keyword parsing; see remote_ehlo.h.  A keyword is the
 * first word of a line; parameters follow after a space.  Unknown keywords
 * and malformed parameters are ignored (the extension is then not used). */
#include "deliver/remote_ehlo.h"

#include <string.h>
#include <strings.h>

void remote_ehlo_reset(struct remote_ehlo *e)
{
	memset(e, 0, sizeof(*e));
}

/* SIZE's optional parameter: canonical decimal, else no limit. */
static uint64_t size_param(const char *p, size_t n)
{
	uint64_t v = 0;

	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 19)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v;
}

static int keyword_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

void remote_ehlo_line(struct remote_ehlo *e, const char *text, size_t n,
    unsigned lineno)
{
	size_t k = 0;

	if (lineno <= 1)
		return;
	while (k < n && text[k] != ' ' && text[k] != '\t' && text[k] != '=')
		k++;
	if (keyword_is(text, k, "PIPELINING"))
		e->ext |= REMOTE_EXT_PIPELINING;
	else if (keyword_is(text, k, "8BITMIME"))
		e->ext |= REMOTE_EXT_8BITMIME;
	else if (keyword_is(text, k, "SMTPUTF8"))
		e->ext |= REMOTE_EXT_SMTPUTF8;
	else if (keyword_is(text, k, "STARTTLS"))
		e->ext |= REMOTE_EXT_STARTTLS;
	else if (keyword_is(text, k, "SIZE")) {
		e->ext |= REMOTE_EXT_SIZE;
		e->size = k < n && text[k] != '=' ?
		    size_param(text + k, n - k) : 0;
	}
}
