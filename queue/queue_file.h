/* queue_file: the versioned on-disk queue file, one per message
 * (spool/<dir>/XX/QID).  Text header lines an operator can read, then the
 * raw content, then "end CRC".  Each recipient carries a fixed-width status
 * field that the queue manager rewrites in place with pwrite; the file CRC
 * treats those fields as a constant placeholder and each field carries its
 * own check.  The format is specified in docs/queue-format.md. */
#ifndef QUEUE_QUEUE_FILE_H
#define QUEUE_QUEUE_FILE_H
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define QUEUE_FILE_MAGIC "MTAQ 1\n"
#define QUEUE_FILE_MAGIC_LEN 7
#define QUEUE_FIELD_MAX 4096		/* decoded bytes of one header value */
/* "S NNNNNNNNNN CCCCCCCC": status, next attempt (unix s), check. */
#define QUEUE_STATUS_LEN 21
#define QUEUE_TRAILER_LEN 13		/* "end XXXXXXXX\n" */
#define QUEUE_NEXT_MAX 9999999999ULL	/* ten digits of seconds */

/* Recipient states (the first byte of the status field). */
#define QUEUE_RCPT_PENDING 'P'
#define QUEUE_RCPT_DONE 'D'
#define QUEUE_RCPT_BOUNCED 'B'

struct queue_rcpt {
	char *addr;		/* "local@domain", no brackets */
	char status;		/* QUEUE_RCPT_* */
	uint64_t next_attempt;	/* unix seconds; 0: as soon as possible */
	size_t status_off;	/* file offset of the status field (decode) */
};

struct queue_msg {
	uint64_t qid;
	uint64_t arrival_us;	/* unix microseconds */
	char *origin;		/* "smtp", "sendmail" or "qmgr" (a DSN) */
	char *client;		/* client address text, "" if none */
	char *helo;		/* "" if none */
	int64_t uid;		/* submitting uid (peer credentials), -1: none */
	char *sender;		/* "" for the null path <> */
	char *body;		/* "7BIT", "8BITMIME" or "BINARYMIME" */
	int smtputf8;
	struct queue_rcpt *rcpts;
	size_t nrcpt;
	const char *content;	/* not owned: the caller's (decode: into data) */
	size_t content_len;
	size_t content_off;	/* file offset of the content (decode) */
};

/* Encode the whole file image of m into out (appended).  0, -EINVAL for
 * an unencodable message (no recipients, bad field), -EMSGSIZE past out's
 * limit. */
int queue_file_encode(const struct queue_msg *m, struct buf *out);
/* Encode the header part only, through the "content LEN" line (the writer
 * sends head, content and trailer as separate iovecs). */
int queue_file_encode_head(const struct queue_msg *m, struct buf *out);
/* The trailer for a file whose checksum is crc ("end XXXXXXXX\n"). */
void queue_file_trailer(uint32_t crc, char out[QUEUE_TRAILER_LEN + 1]);
/* Decode a complete file image.  Strict and bounded: 0, or -EBADMSG for any
 * corruption or truncation.  Strings are allocated (free with
 * queue_msg_free); m->content points into data. */
int queue_file_decode(const char *data, size_t len, struct queue_msg *m);
/* Free what decode allocated (not the content); m is zeroed. */
void queue_msg_free(struct queue_msg *m);
/* The status field for an in-place update (pwrite at rcpt->status_off). */
void queue_file_status_field(char status, uint64_t next_attempt,
    char out[QUEUE_STATUS_LEN + 1]);

/* "spool/dir/XX/QID" into out; 0 or -ENAMETOOLONG. */
int queue_path(const char *spool, const char *dir, uint64_t qid, char *out,
    size_t n);
/* Blocking read and decode of one queue file (tools, recovery).  data
 * receives the bytes and must outlive m.  0, -EBADMSG or -errno. */
int queue_file_read(const char *path, struct buf *data, struct queue_msg *m);
/* Where the message qid lives: incoming, deferred, hold or corrupt.  0 and
 * the path, or -ENOENT. */
int queue_find(const char *spool, uint64_t qid, char *path, size_t n);
#endif
