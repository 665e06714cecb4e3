/* libFuzzer target for the SMTP command-line parser (smtpd/smtpd_cmd.c):
 * each input is one command line, split into verb and argument and then
 * run through the argument parser of every verb that has one.  Besides
 * memory safety it checks that the argument stays inside the line.
 * Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "smtpd/smtpd_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtpd_cmd c;
	struct smtpd_mail m;
	struct smtpd_rcpt r;
	uint64_t count;
	int last;

	if (smtpd_cmd_parse(line, size, &c) != 0)
		return 0;
	if (c.arglen > 0 && (c.arg < line || c.arg + c.arglen > line + size))
		abort();
	for (int flag = 0; flag < 2; flag++) {
		(void)smtpd_cmd_mail(c.arg, c.arglen, flag, &m);
		(void)smtpd_cmd_rcpt(c.arg, c.arglen, flag, &r);
		(void)smtpd_cmd_helo(c.arg, c.arglen, flag);
	}
	(void)smtpd_cmd_bdat(c.arg, c.arglen, &count, &last);
	(void)smtpd_cmd_name(c.verb);
	return 0;
}
