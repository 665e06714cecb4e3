/* pop3d_mbox: one user's Maildir for the length of a POP3 session.  Open
 * takes an exclusive flock on a lock file in the Maildir (a second login
 * gets -EWOULDBLOCK: [IN-USE]), moves new/ into cur/ (":2," appended) and
 * lists cur/ oldest first by the delivery time in the names, with wire
 * sizes from W= (counted once from the file when absent) and UIDLs.  It
 * blocks (directory I/O): pop3d runs it on a helper thread, never on the
 * ring.  Update (QUIT) unlinks the marked messages and fsyncs cur/. */
#ifndef POP3D_MBOX_H
#define POP3D_MBOX_H
#include <stddef.h>
#include <stdint.h>

#define POP3D_UIDL_MAX 70		/* RFC 1939: 1..70 octets 0x21-0x7E */
#define POP3D_LOCK_FILE ".mta-pop3d.lock"
#define POP3D_MBOX_MAX 1000000		/* messages listed at most */

struct pop3d_msg {
	char *name;			/* file name in cur/ */
	uint64_t wire;			/* octets on the wire (CRLF) */
	uint64_t sec, usec;		/* delivery time from the name */
	int deleted;			/* DELE'd in this session */
	char uidl[POP3D_UIDL_MAX + 1];
};

struct pop3d_mbox {
	int lock_fd, cur_fd;		/* -1: none (absent mailbox) */
	struct pop3d_msg *msg;
	size_t n;
	uint64_t total;			/* wire octets of all messages */
};

/* An empty, closed mailbox (safe to pass to pop3d_mbox_close). */
void pop3d_mbox_init(struct pop3d_mbox *mb);
/* Lock, move new/ to cur/, list.  A mailbox that does not exist yet is
 * empty.  0, -EWOULDBLOCK (locked by another session), -EINVAL (address
 * cannot name a mailbox) or -errno. */
int pop3d_mbox_open(struct pop3d_mbox *mb, const char *mail_root,
    const char *address);
/* The same on an opened Maildir directory path (tests). */
int pop3d_mbox_open_path(struct pop3d_mbox *mb, const char *path);
/* Unlink the deleted messages, fsync cur/.  Returns how many were removed
 * or -errno (the first failure; the others are still tried). */
int pop3d_mbox_update(struct pop3d_mbox *mb);
/* Free the list and release the lock. */
void pop3d_mbox_close(struct pop3d_mbox *mb);
/* open(2) message i read-only; fd or -errno. */
int pop3d_mbox_open_msg(const struct pop3d_mbox *mb, size_t i);
/* The UIDL of a file name whose unique part is name[0..len): that part
 * when 1..70 octets of 0x21-0x7E, else a SHA-256 hex digest of it. */
void pop3d_mbox_uidl(const char *name, size_t len,
    char out[POP3D_UIDL_MAX + 1]);
/* Order two messages by delivery time, then name (qsort). */
int pop3d_mbox_cmp(const void *a, const void *b);
/* The delivery time in a Maildir name "<sec>.M<usec>...": 0s if absent. */
void pop3d_mbox_time(const char *name, uint64_t *sec, uint64_t *usec);
#endif
