/* pop3d_cmd: keyword lookup and argument parsing; see pop3d_cmd.h.  Every
 * function reads only inside the bytes it is given (NULs included: they
 * make a keyword unknown and a number invalid). */
#include "pop3d/pop3d_cmd.h"
#include "lib/mem.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char *const pop3d_verbs[] = {
	[POP3D_V_UNKNOWN] = "?",
	[POP3D_V_USER] = "USER",
	[POP3D_V_PASS] = "PASS",
	[POP3D_V_QUIT] = "QUIT",
	[POP3D_V_STAT] = "STAT",
	[POP3D_V_LIST] = "LIST",
	[POP3D_V_RETR] = "RETR",
	[POP3D_V_DELE] = "DELE",
	[POP3D_V_NOOP] = "NOOP",
	[POP3D_V_RSET] = "RSET",
	[POP3D_V_TOP] = "TOP",
	[POP3D_V_UIDL] = "UIDL",
	[POP3D_V_CAPA] = "CAPA",
	[POP3D_V_AUTH] = "AUTH",
	[POP3D_V_APOP] = "APOP",
	[POP3D_V_STLS] = "STLS",
};

void pop3d_cmd_parse(const char *line, size_t len, struct pop3d_cmd *c)
{
	size_t k = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	c->verb = POP3D_V_UNKNOWN;
	c->arg = NULL;
	c->arglen = 0;
	while (k < len && line[k] != ' ')
		k++;
	for (size_t v = 1; v < ARRAY_LEN(pop3d_verbs); v++) {
		if (strlen(pop3d_verbs[v]) == k &&
		    strncasecmp(line, pop3d_verbs[v], k) == 0) {
			c->verb = (enum pop3d_verb)v;
			break;
		}
	}
	if (c->verb == POP3D_V_UNKNOWN || k == len)
		return;
	c->arg = line + k + 1;
	c->arglen = len - k - 1;
}

int pop3d_cmd_number(const char *s, size_t len, unsigned long *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*out = (unsigned long)v;
	return 0;
}

int pop3d_cmd_numbers(const char *arg, size_t len, unsigned long *n,
    unsigned long *m)
{
	const char *sp;

	if (arg == NULL)
		return -EINVAL;
	sp = memchr(arg, ' ', len);
	if (m == NULL)
		return sp != NULL ? -EINVAL : pop3d_cmd_number(arg, len, n);
	if (sp == NULL || pop3d_cmd_number(arg, (size_t)(sp - arg), n) < 0)
		return -EINVAL;
	sp++;
	return pop3d_cmd_number(sp, len - (size_t)(sp - arg), m);
}

const char *pop3d_cmd_name(enum pop3d_verb v)
{
	return (size_t)v < ARRAY_LEN(pop3d_verbs) ? pop3d_verbs[v] : "?";
}
