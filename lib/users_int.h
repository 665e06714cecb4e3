/* users_int: what lib/users.c and lib/users_file.c (the writer) share and
 * nobody else uses: the snapshot's layout and the parser's helpers. */
#ifndef LIB_USERS_INT_H
#define LIB_USERS_INT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lib/buf.h"
#include <time.h>

struct users_entry {
	uint32_t addr, hash;		/* offsets into text, NUL-terminated */
	uint32_t line_off, line_len;	/* the line in the file, newline incl. */
	unsigned line;			/* line number, for messages */
};

/* Which version of the file a snapshot holds. */
struct users_ident {
	int state;			/* 1 present, 0 missing, -errno */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct users {
	char *text;			/* the file, edited in place */
	size_t len;
	struct users_entry *v;		/* file order */
	size_t n, cap;
	uint32_t *tab;			/* entry index + 1; 0: empty slot */
	size_t tabmask;
	struct users_ident ident;	/* what was loaded */
	struct users_ident fail_ident;	/* the last version that failed */
	int failed;
	long long checked_ms;		/* last stat, CLOCK_MONOTONIC */
};

/* The entry index of a lower-cased address, or -1. */
long users_find(const struct users *u, const char *key);
/* 1 if h[0..n) is a hash users_file may hold ($y$ or $6$, crypt chars). */
int users_hash_ok(const char *h, size_t n);
/* s[0..n) lower-cased into out (NUL-terminated; out may be s) if it is
 * an address maildir_address_ok accepts; 0 or -EINVAL. */
int users_address_norm(const char *s, size_t n, char *out, size_t outlen);
/* Read base (relative to dfd, or AT_FDCWD) into b, which this sets up
 * (buf_free it in any case): a regular file of at most USERS_FILE_MAX
 * bytes.  0 or -errno with "path: why" in err (-ENOENT: no file). */
int users_read_at(int dfd, const char *base, const char *path,
    struct buf *b, struct stat *st, char *err, size_t errlen);
#endif
