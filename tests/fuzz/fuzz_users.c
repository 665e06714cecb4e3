/* libFuzzer target for the users_file parser (lib/users.c): parse any
 * bytes; on success every account must be found again by its own address
 * (and upper-cased), hold a hash, and be counted once; on failure the
 * message starts with the file name.  Built and run by tests/fuzz/run. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], up[USERS_ADDRESS_MAX + 1];
	struct users *u = NULL;

	if (users_parse(&u, "fuzz", (const char *)data, size, err,
	    sizeof(err)) < 0) {
		if (u != NULL || strncmp(err, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < users_count(u); i++) {
		const char *a = users_address(u, i);
		size_t n = strlen(a);

		if (n == 0 || n > USERS_ADDRESS_MAX || !users_exists(u, a) ||
		    users_hash_of(u, a) == NULL ||
		    strlen(users_hash_of(u, a)) >= USERS_HASH_MAX)
			abort();
		for (size_t j = 0; j <= n; j++)
			up[j] = (char)toupper((unsigned char)a[j]);
		if (!users_exists(u, up))
			abort();
	}
	if (users_address(u, users_count(u)) != NULL)
		abort();
	users_free(u);
	return 0;
}
