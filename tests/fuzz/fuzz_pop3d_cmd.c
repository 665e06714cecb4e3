/* libFuzzer target for the POP3 command-line parser (pop3d/pop3d_cmd.c)
 * and the AUTH PLAIN base64 decoder (lib/base64.c): each input is one
 * command line, split into keyword and argument; the argument goes
 * through the message-number parsers and the decoder.  Besides memory
 * safety it checks that the argument stays inside the line and that a
 * decoded length never exceeds the output.  Built and run by
 * tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/base64.h"
#include "pop3d/pop3d_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct pop3d_cmd c;
	unsigned long n, m;
	char out[64];
	long len;

	pop3d_cmd_parse(line, size, &c);
	if (c.arg != NULL && (c.arg < line || c.arg + c.arglen > line + size))
		abort();
	if (c.arg == NULL)
		return 0;
	(void)pop3d_cmd_numbers(c.arg, c.arglen, &n, NULL);
	(void)pop3d_cmd_numbers(c.arg, c.arglen, &n, &m);
	len = base64_decode(c.arg, c.arglen, out, sizeof(out));
	if (len > (long)sizeof(out))
		abort();
	(void)pop3d_cmd_name(c.verb);
	return 0;
}
