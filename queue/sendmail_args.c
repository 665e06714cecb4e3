/* sendmail_args: the sendmail command line.  Supported: -t, -i, -oi,
 * -f/-r SENDER, -C FILE, -bm; accepted and ignored as other MTAs do: -F,
 * -od*, -oe*, -om and other -o options, -v, -B, -N, -R, -V, -L, -U, -n,
 * -G.  Options stop at the first recipient or "--".  Unknown options and
 * other modes (-bs, -bp, -q ...) are usage errors (EX_USAGE). */
#include "queue/sendmail.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static int usage_err(char *err, size_t errlen, const char *what, int opt,
    const char *arg)
{
	if (arg != NULL)
		snprintf(err, errlen, "%s: -%c %s", what, opt, arg);
	else
		snprintf(err, errlen, "%s: -%c", what, opt);
	return EX_USAGE;
}

static int one_opt(int ch, const char *arg, struct sendmail_opts *o,
    char *err, size_t errlen)
{
	switch (ch) {
	case 't':
		o->extract = 1;
		return 0;
	case 'i':
		o->ignore_dots = 1;
		return 0;
	case 'f':
	case 'r':
		o->sender = arg;
		return 0;
	case 'C':
		o->conf = arg;
		return 0;
	case 'b':
		if (strcmp(arg, "m") == 0)
			return 0;
		return usage_err(err, errlen, "unsupported mode", 'b', arg);
	case 'o':
		if (strcmp(arg, "i") == 0)
			o->ignore_dots = 1;
		return 0;	/* -odb, -odi, -oem, -om ...: ignored */
	case 'F': case 'B': case 'N': case 'R': case 'V': case 'L':
	case 'v': case 'U': case 'n': case 'G':
		return 0;
	case ':':
		return usage_err(err, errlen, "option needs an argument",
		    optopt, NULL);
	default:
		return usage_err(err, errlen, "unknown option", optopt, NULL);
	}
}

int sendmail_parse_args(int argc, char **argv, struct sendmail_opts *o,
    char *err, size_t errlen)
{
	int ch, rc;

	memset(o, 0, sizeof(*o));
	err[0] = '\0';
	optind = 0;	/* glibc: full re-initialisation (tests call us twice) */
	opterr = 0;
	while ((ch = getopt(argc, argv, "+:tif:r:C:b:o:F:B:N:R:V:L:vUnG")) !=
	    -1)
		if ((rc = one_opt(ch, optarg, o, err, errlen)) != 0)
			return rc;
	o->rcpts = argv + optind;
	o->nrcpt = (size_t)(argc - optind);
	return 0;
}
