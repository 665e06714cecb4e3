/* sendmail: the sendmail-compatible injection command, split so that its
 * parsers are unit-tested: argument parsing (sendmail_args.c), message
 * preparation -- line endings, the "." line, headers, -t recipients, Bcc
 * removal, added Received/From/Date/Message-ID (sendmail_msg.c,
 * sendmail_hdr.c) -- and the conversation with the queue writer
 * (sendmail_submit.c).  Exit codes are sysexits(3), documented in
 * sendmail(1). */
#ifndef QUEUE_SENDMAIL_H
#define QUEUE_SENDMAIL_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "lib/buf.h"

struct sendmail_opts {
	int extract;		/* -t: recipients from To/Cc/Bcc */
	int ignore_dots;	/* -i, -oi: a "." line is not the end */
	const char *sender;	/* -f/-r; NULL: the invoking user */
	const char *conf;	/* -C FILE */
	char **rcpts;		/* command-line recipients (argv) */
	size_t nrcpt;
};

/* What the message needs from the world (injected for tests). */
struct sendmail_env {
	const char *hostname;
	const char *user;	/* login name of the invoking user */
	uid_t uid;
	time_t now;
	const char *msgid;	/* Message-ID to add, "<...>" */
	const char *sender;	/* envelope sender ("" for <>) */
	size_t limit;		/* content bytes accepted */
};

/* A list of canonical recipient addresses. */
struct sendmail_rcpts {
	char **v;
	size_t n;
};

/* The message being read: header fields are held until the header ends,
 * body lines are appended as they come. */
struct sendmail_msg {
	int ignore_dots, extract;
	int in_headers, lines, done, eightbit;
	int utf8;		/* a -t address needs SMTPUTF8 */
	size_t limit;
	struct buf hdrs;	/* header fields, CRLF line ends */
	size_t *fields;		/* start offset of each field in hdrs */
	size_t nfields;
	struct buf body;
	struct buf content;	/* the result of sendmail_msg_finish */
};

/* Parse argv.  0, or EX_USAGE with a message in err. */
int sendmail_parse_args(int argc, char **argv, struct sendmail_opts *o,
    char *err, size_t errlen);

/* Start reading a message. */
void sendmail_msg_init(struct sendmail_msg *m, const struct sendmail_opts *o,
    size_t limit);
/* One input line without its LF (a CR before it is dropped here).
 * 0 to go on, 1 after the terminating "." line, -EMSGSIZE when too big. */
int sendmail_msg_line(struct sendmail_msg *m, const char *line, size_t len);
/* Feed raw input bytes (split into lines); same returns as _line.  A
 * partial last line is kept in *pending until more comes or _eof. */
int sendmail_msg_feed(struct sendmail_msg *m, struct buf *pending,
    const char *p, size_t n);
/* End of input: a partial last line counts as a line. */
int sendmail_msg_eof(struct sendmail_msg *m, struct buf *pending);
/* Assemble m->content: Received: first, the header without Bcc, the
 * missing From/Date/Message-ID, the body.  With -t, the To/Cc/Bcc
 * recipients are added to rc.  0, -EINVAL (bad header address, message in
 * err) or -EMSGSIZE. */
int sendmail_msg_finish(struct sendmail_msg *m, const struct sendmail_env *env,
    struct sendmail_rcpts *rc, char *err, size_t errlen);
void sendmail_msg_free(struct sendmail_msg *m);

/* Canonicalise one envelope address: brackets dropped, "@hostname" added
 * to a bare user name, RFC 5321 syntax checked.  NULL if invalid;
 * is_sender allows "" and "<>" (the null sender). */
char *sendmail_addr(const char *s, size_t n, const char *hostname,
    int is_sender, int *utf8);
/* Add an address (deduplicated) to a list. */
void sendmail_rcpts_add(struct sendmail_rcpts *rc, char *addr);
void sendmail_rcpts_free(struct sendmail_rcpts *rc);
/* Split an RFC 5322 address-list header value into rc (groups, display
 * names, comments, quoted strings).  0, or -EINVAL and the bad item in
 * err. */
int sendmail_addr_list(const char *v, size_t n, const char *hostname,
    struct sendmail_rcpts *rc, int *utf8, char *err, size_t errlen);

/* Send the message to the queue writer at sock_path and wait for the
 * answer.  Returns an exit status (EX_OK, EX_TEMPFAIL, EX_DATAERR, ...)
 * and a message for stderr in err (empty on success). */
int sendmail_submit(const char *sock_path, const char *sender,
    const struct sendmail_rcpts *rc, const struct buf *content, int eightbit,
    int smtputf8, char *err, size_t errlen);
#endif
