/* libFuzzer target for the transport_file parser (lib/transport.c): parse
 * any bytes; on success every entry must format a next hop and be found
 * again by its own domain.  Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport t = { 0 };
	char err[TRANSPORT_ERR_MAX], hop[300];

	if (transport_parse(&t, "fuzz", (const char *)data, size, err,
	    sizeof(err)) < 0) {
		if (strncmp(err, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < t.n; i++) {
		const char *key = t.v[i].key;

		if (transport_nexthop(&t.v[i], hop, sizeof(hop)) < 0)
			abort();
		/* "x.example" is found by itself, ".example" by a child. */
		if (key[0] != '.' && transport_lookup(&t, key) != &t.v[i])
			abort();
	}
	transport_free(&t);
	return 0;
}
