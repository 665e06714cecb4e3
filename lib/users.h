/* users: the accounts file (users_file), one "address:crypt-hash" line per
 * mailbox user, written only by mtactl (users_file_*: temp file, fsync,
 * rename) and read by smtpd (does the recipient exist), the local agent
 * (deliver or 5.1.1) and pop3d (passwords).  Readers hold a snapshot and
 * call users_refresh, which reloads when the file's inode, size or mtime
 * changed, so `mtactl user add` takes effect without a restart.
 * Addresses are compared lower-cased.  Passwords are never logged. */
#ifndef LIB_USERS_H
#define LIB_USERS_H
#include <stddef.h>

#define USERS_HASH_MAX 256	/* bytes of a crypt hash, NUL included */
#define USERS_ADDRESS_MAX 320	/* bytes of "local@domain" (64 + 1 + 255) */
#define USERS_PASSWORD_MAX 511	/* bytes of a password (libcrypt's limit:
				 * CRYPT_MAX_PASSPHRASE_SIZE with its NUL) */
#define USERS_LINE_MAX 1024	/* bytes of a line, newline included */
#define USERS_FILE_MAX (128u << 20)	/* bytes of users_file */
#define USERS_MAX 1000000	/* accounts in users_file */
#define USERS_REFRESH_MS 1000	/* users_refresh stats at most this often */

struct users;			/* a loaded snapshot (opaque) */

/* Load path into a new snapshot.  A missing file is an empty set (0);
 * other errors -errno (a malformed line: -EBADMSG, with "path:line:
 * message" in err).  *out is set only on success. */
int users_load(struct users **out, const char *path, char *err,
    size_t errlen);
/* Reload *u from path if the file changed since it was loaded (checked at
 * most once per second).  1 reloaded, 0 unchanged, <0 error: *u is kept
 * and err says why (log it once). */
int users_refresh(struct users **u, const char *path, char *err,
    size_t errlen);
void users_free(struct users *u);
/* 1 if address (any case) has an account. */
int users_exists(const struct users *u, const char *address);
/* The hash of address (any case), or NULL: copy it on the event loop and
 * hand the copy to users_check_hash on the helper thread, so a refresh
 * may free the snapshot meanwhile. */
const char *users_hash_of(const struct users *u, const char *address);
/* 1 if password matches hash ($y$ yescrypt or $6$ SHA-512-crypt), else
 * 0; hash NULL (unknown user) runs the same crypt on a dummy hash, so
 * unknown users cost what known ones do (no timing oracle).  Slow by
 * design: event loops call it off the loop (a helper thread). */
int users_check_hash(const char *hash, const char *password);
/* Number of accounts, and the i-th address in file order (users list). */
size_t users_count(const struct users *u);
const char *users_address(const struct users *u, size_t i);

/* Parse text[0..len) as if read from the file "name" (unit tests, the
 * fuzz target): 0 or -EBADMSG/-EFBIG with "name:line: message" in err. */
int users_parse(struct users **out, const char *name, const char *text,
    size_t len, char *err, size_t errlen);

/* --- writing (mtactl) --- */
/* A new yescrypt hash of password (crypt_gensalt "$y$"), into out. */
int users_hash(const char *password, char *out, size_t outlen);
/* Add (hash for a new address; -EEXIST if present), replace the hash
 * (-ENOENT if absent) or delete (hash NULL; -ENOENT if absent) one entry,
 * atomically: the new file is written beside path, fsynced, renamed over
 * it, and the directory fsynced.  Mode 0640; when run as root the group
 * is gid (group_auth), else unchanged. */
enum users_op { USERS_ADD, USERS_PASSWD, USERS_DEL };
int users_file_update(const char *path, enum users_op op,
    const char *address, const char *hash, long gid, char *err,
    size_t errlen);
#endif
