/* libFuzzer target for RFC 5321 path parsing (lib/addr.c): every input
 * under all 16 flag combinations.  Besides memory safety it checks the
 * invariants callers rely on: the limits hold, *end stays in the input,
 * a parsed domain validates on its own, and the formatted address parses
 * again to the same parts.  Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct addr *a, size_t end, size_t size,
    unsigned flags)
{
	char out[ADDR_PATH_MAX + 8], path[ADDR_PATH_MAX + 8];
	struct addr b;
	int n;

	if (end > size || strlen(a->local) > ADDR_LOCAL_MAX ||
	    strlen(a->domain) > ADDR_DOMAIN_MAX)
		abort();
	if (a->is_null || a->domain[0] == '\0')
		return;
	if (addr_valid_domain(a->domain, strlen(a->domain),
	    (flags & ADDR_ALLOW_UTF8) != 0) != ADDR_OK)
		abort();
	if (addr_format(a, out, sizeof(out)) != 0)
		abort();
	n = snprintf(path, sizeof(path), "<%s>", out);
	if (addr_parse_path(path, (size_t)n, flags | ADDR_NEED_BRACKETS, &b,
	    NULL) != ADDR_OK || strcmp(a->local, b.local) != 0 ||
	    strcmp(a->domain, b.domain) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct addr a;
	size_t end;

	for (unsigned flags = 0; flags < 16; flags++) {
		int rc = addr_parse_path(s, size, flags, &a, &end);

		if (rc == ADDR_OK)
			check(&a, end, size, flags);
		else if (rc != ADDR_ESYNTAX && rc != ADDR_ETOOLONG &&
		    rc != ADDR_EUTF8 && rc != ADDR_EEMPTY)
			abort();
	}
	addr_valid_domain(s, size, 0);
	addr_valid_domain(s, size, 1);
	return 0;
}
