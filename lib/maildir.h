/* maildir: the mailbox layout the local agent writes and pop3d reads.
 * A mailbox is $state_dir/mail/<domain>/<local-part>/Maildir (both parts
 * lower-cased) with tmp/, new/, cur/.  Messages are stored the standard
 * way, LF line endings; each file name carries its size on disk (S=) and
 * on the POP3 wire (W=: CRLF endings, a final CRLF added when the last
 * line has none), so LIST and STAT never open a file:
 *     <sec>.M<usec>P<pid>Q<seq>.<host>,S=<bytes>,W=<bytes>[:2,<flags>]
 * The part before ":" is the message's stable unique name (POP3 UIDL). */
#ifndef LIB_MAILDIR_H
#define LIB_MAILDIR_H
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_NAME_MAX 255
#define MAILDIR_LOCAL_MAX 64	/* bytes of a mailbox's local part */

/* 1 if address ("local@domain") may name a mailbox: local part 1..64
 * bytes of [a-z0-9._+-] after lower-casing, not starting or ending with
 * '.', no ".."; domain a valid host name.  Everything that creates an
 * account or a mailbox path checks this first (no '/', no "..", no NUL). */
int maildir_address_ok(const char *address);
/* "<mail_root>/<domain>/<local>/Maildir" into out (lower-cased).  mail_root
 * is $state_dir/mail.  -EINVAL unless maildir_address_ok, -ENAMETOOLONG. */
int maildir_path(const char *mail_root, const char *address, char *out,
    size_t outlen);
/* Create path (and missing parents below mail_root) with tmp/ new/ cur/,
 * directories mode 0700.  0 or -errno; an existing Maildir is fine. */
int maildir_create(const char *mail_root, const char *path);
/* A new unique base name with S= and W= into out (no ":2," part):
 * <sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>,W=<wire>.  seq is the
 * caller's per-process counter; host has '/' and ':' replaced.  0 or
 * -ENAMETOOLONG. */
int maildir_name(char *out, size_t outlen, uint64_t usec, long pid,
    uint64_t seq, const char *host, uint64_t size, uint64_t wire);
/* From a file name (new/ or cur/): the S= and W= values (set to
 * UINT64_MAX when absent) and the length of the unique part (before ':').
 * 0, or -EINVAL for a name no Maildir writer produces ('.' first, '/'). */
int maildir_name_parse(const char *name, uint64_t *size, uint64_t *wire,
    size_t *uniq_len);

/* The stored form <-> POP3 wire form (CRLF), streamed in pieces.  The
 * converter remembers whether the last byte seen was CR, so a CRLF split
 * across pieces is kept as one line ending. */
struct maildir_wire {
	int last_cr;		/* the previous byte was '\r' */
	int at_bol;		/* nothing yet, or the previous byte was '\n' */
};
void maildir_wire_init(struct maildir_wire *w);
/* Bytes the wire form of in[0..n) takes (LF without CR before it counts
 * 2); call maildir_wire_end for the final CRLF. */
uint64_t maildir_wire_count(struct maildir_wire *w, const char *in,
    size_t n);
/* 2 if the stored form did not end with a line ending (a CRLF is then
 * added on the wire), else 0. */
uint64_t maildir_wire_end(const struct maildir_wire *w);
#endif
