/* pop3d_cmd: the POP3 command-line parser (RFC 1939, 2449 CAPA, 5034
 * AUTH).  Pure functions over a bounded line the caller has cut at LF;
 * no allocation, no state, so it is fuzzed on its own.  Keywords are
 * case-insensitive; the argument is everything after the first space
 * (passwords may contain spaces); numbers are plain decimal. */
#ifndef POP3D_CMD_H
#define POP3D_CMD_H
#include <stddef.h>

#define POP3D_LINE_MAX 512	/* command line, CRLF included: 255 + slack */
#define POP3D_SASL_LINE_MAX 2048	/* an AUTH continuation line */

enum pop3d_verb {
	POP3D_V_UNKNOWN,
	POP3D_V_USER,
	POP3D_V_PASS,
	POP3D_V_QUIT,
	POP3D_V_STAT,
	POP3D_V_LIST,
	POP3D_V_RETR,
	POP3D_V_DELE,
	POP3D_V_NOOP,
	POP3D_V_RSET,
	POP3D_V_TOP,
	POP3D_V_UIDL,
	POP3D_V_CAPA,
	POP3D_V_AUTH,
	POP3D_V_APOP,
	POP3D_V_STLS,
};

struct pop3d_cmd {
	enum pop3d_verb verb;
	const char *arg;	/* inside the line; NULL: no argument */
	size_t arglen;
};

/* Split line[0..len) (without LF; one trailing CR is dropped) into verb
 * and argument.  Always succeeds: an unknown keyword is POP3D_V_UNKNOWN. */
void pop3d_cmd_parse(const char *line, size_t len, struct pop3d_cmd *c);
/* A message number "1".."4294967295" (no sign, no spaces); 0 or -EINVAL. */
int pop3d_cmd_number(const char *s, size_t len, unsigned long *out);
/* "n" (m NULL) or "n m" for TOP: exactly that many numbers separated by
 * one space.  0 or -EINVAL. */
int pop3d_cmd_numbers(const char *arg, size_t len, unsigned long *n,
    unsigned long *m);
/* The keyword as text, for logs. */
const char *pop3d_cmd_name(enum pop3d_verb v);
#endif
