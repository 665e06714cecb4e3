/* remote_ehlo: the service extensions a server lists in its EHLO reply
 * (RFC 5321 4.1.1.1), parsed line by line from the reply parser's line
 * hook.  Only what the client uses is kept: PIPELINING, SIZE (with its
 * limit), 8BITMIME, SMTPUTF8, STARTTLS.  Keywords match in any case; the
 * first line (the server's name) is not a keyword. */
#ifndef DELIVER_REMOTE_EHLO_H
#define DELIVER_REMOTE_EHLO_H
#include <stddef.h>
#include <stdint.h>

#define REMOTE_EXT_PIPELINING 0x01
#define REMOTE_EXT_SIZE 0x02
#define REMOTE_EXT_8BITMIME 0x04
#define REMOTE_EXT_SMTPUTF8 0x08
#define REMOTE_EXT_STARTTLS 0x10

struct remote_ehlo {
	unsigned ext;		/* REMOTE_EXT_* */
	uint64_t size;		/* SIZE limit, 0: none declared */
};

/* Forget what an earlier EHLO said (a new EHLO after STARTTLS). */
void remote_ehlo_reset(struct remote_ehlo *e);
/* One line of the EHLO reply: text after "250-"/"250 ", lineno from 1. */
void remote_ehlo_line(struct remote_ehlo *e, const char *text, size_t n,
    unsigned lineno);
#endif
