/* users: the accounts file; see users.h.  A snapshot is one copy of the
 * file's text (addresses lower-cased and NUL-terminated in place), the
 * entries in file order and an open-addressing table of them.  Every line
 * is bounded and checked before it is kept; a bad line refuses the whole
 * file.  The writer (users_file_update) lives in users_file.c and reuses
 * the parser through lib/users_int.h. */
#include "lib/users.h"
#include "lib/users_int.h"
#include "lib/buf.h"
#include "lib/fdio.h"
#include "lib/maildir.h"
#include "lib/mem.h"
#include "lib/tabfile.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Run against when the user is unknown: the cost of users_hash's output
 * ("$y$j9T$": yescrypt's default), so a miss takes as long as a hit. */
#define USERS_DUMMY_HASH "$y$j9T$dvVv6Yo8wmhyHwJQTEeUx.$noar6Kca8bpo2gkuEysW" \
	"4wq95Jq2Td5YvuV9PaXRhx4"

_Static_assert(USERS_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "libcrypt hashes shorter passwords only");

struct users_parse {
	struct tabfile tf;
	struct users *u;
};

#define users_fail(p, ...) tabfile_fail(&(p)->tf, -EBADMSG, __VA_ARGS__)

static long long users_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t users_fnv(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

long users_find(const struct users *u, const char *key)
{
	size_t i;

	if (u->tabmask == 0)
		return -1;
	for (i = users_fnv(key) & u->tabmask; u->tab[i] != 0;
	    i = (i + 1) & u->tabmask)
		if (strcmp(u->text + u->v[u->tab[i] - 1].addr, key) == 0)
			return (long)u->tab[i] - 1;
	return -1;
}

/* Size the table for at most max entries (load <= 1/2). */
static void users_table_init(struct users *u, size_t max)
{
	size_t size = 16;

	while (size / 2 < max)
		size *= 2;
	u->tab = xcalloc(size, sizeof(*u->tab));
	u->tabmask = size - 1;
}

static void users_table_put(struct users *u, size_t idx)
{
	size_t i = users_fnv(u->text + u->v[idx].addr) & u->tabmask;

	while (u->tab[i] != 0)
		i = (i + 1) & u->tabmask;
	u->tab[i] = (uint32_t)idx + 1;
}

static int users_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Printable ASCII only: safe to quote in an error message. */
static int users_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

int users_hash_ok(const char *h, size_t n)
{
	if (n < 4 || n >= USERS_HASH_MAX || (memcmp(h, "$y$", 3) != 0 &&
	    memcmp(h, "$6$", 3) != 0))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '/' ||
		    c == '$' || c == '='))
			return 0;
	}
	return 1;
}

int users_address_norm(const char *s, size_t n, char *out, size_t outlen)
{
	if (n == 0 || n > USERS_ADDRESS_MAX || n >= outlen ||
	    memchr(s, '\0', n) != NULL)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	out[n] = '\0';
	return maildir_address_ok(out) ? 0 : -EINVAL;
}

/* One entry: the address at u->text + a (alen bytes, NUL after it), the
 * hash at u->text + h (hlen bytes). */
static int users_entry(struct users_parse *p, size_t a, size_t alen,
    size_t h, size_t hlen)
{
	struct users *u = p->u;
	char *addr = u->text + a;
	long dup;

	if (alen > USERS_ADDRESS_MAX)
		return users_fail(p, "address longer than %u bytes",
		    USERS_ADDRESS_MAX);
	if (users_address_norm(addr, alen, addr, alen + 1) < 0)
		return users_printable(addr, alen) ? users_fail(p,
		    "invalid address: %.*s", (int)alen, addr) :
		    users_fail(p, "invalid address");
	if (!users_hash_ok(u->text + h, hlen))
		return users_fail(p, "not a yescrypt ($y$) or SHA-512-crypt "
		    "($6$) hash");
	u->text[h + hlen] = '\0';
	if ((dup = users_find(u, addr)) >= 0)
		return users_fail(p, "%s listed twice (first on line %u)",
		    addr, u->v[dup].line);
	if (u->n == USERS_MAX)
		return users_fail(p, "more than %u accounts", USERS_MAX);
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 64;
		u->v = xreallocarray(u->v, u->cap, sizeof(*u->v));
	}
	u->v[u->n] = (struct users_entry){ .addr = (uint32_t)a,
	    .hash = (uint32_t)h, .line = p->tf.line };
	users_table_put(u, u->n);
	u->n++;
	return 0;
}

/* The line at u->text + off, n bytes without its newline. */
static int users_line(struct users_parse *p, size_t off, size_t n)
{
	char *s = p->u->text + off, *colon;
	size_t a = 0, ae, h, he = n;

	if (n > 0 && s[n - 1] == '\r')
		he = --n;		/* CRLF: an editor's, tolerated */
	if (memchr(s, '\0', n) != NULL)
		return users_fail(p, "NUL byte");
	if (memchr(s, '\r', n) != NULL)
		return users_fail(p, "carriage return inside the line");
	while (a < n && users_blank(s[a]))
		a++;
	while (he > a && users_blank(s[he - 1]))
		he--;
	if (a == he || s[a] == '#')
		return 0;
	if ((colon = memchr(s + a, ':', he - a)) == NULL)
		return users_fail(p, "expected address:hash");
	ae = (size_t)(colon - s);
	while (ae > a && users_blank(s[ae - 1]))
		ae--;
	h = (size_t)(colon - s) + 1;
	while (h < he && users_blank(s[h]))
		h++;
	s[ae] = '\0';
	return users_entry(p, off + a, ae - a, off + h, he - h);
}

int users_parse(struct users **out, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	struct users_parse p = { .tf = { .name = name, .err = err,
	    .errlen = errlen } };
	struct users *u;
	size_t at = 0, max = 1;
	int rc = 0;

	if (len > USERS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", name,
		    USERS_FILE_MAX);
		return -EFBIG;
	}
	for (size_t i = 0; i < len; i++)
		max += text[i] == '\n';
	u = xcalloc(1, sizeof(*u));
	u->text = xmalloc(size_add(len, 1));
	memcpy(u->text, text, len);
	u->text[len] = '\0';
	u->len = len;
	users_table_init(u, max < USERS_MAX ? max : USERS_MAX);
	p.u = u;
	while (at < len && rc == 0) {
		const char *s = u->text + at;
		const char *nl = memchr(s, '\n', len - at);
		size_t n = nl ? (size_t)(nl - s) : len - at;
		size_t full = n + (nl ? 1 : 0);

		p.tf.line++;
		if (n + 1 > USERS_LINE_MAX)
			rc = users_fail(&p, "line longer than %u bytes",
			    USERS_LINE_MAX);
		else
			rc = users_line(&p, at, n);
		if (rc == 0 && u->n > 0 && u->v[u->n - 1].line == p.tf.line) {
			u->v[u->n - 1].line_off = (uint32_t)at;
			u->v[u->n - 1].line_len = (uint32_t)full;
		}
		at += full;
	}
	if (rc < 0) {
		users_free(u);
		return rc;
	}
	*out = u;
	return 0;
}

int users_read_at(int dfd, const char *base, const char *path,
    struct buf *b, struct stat *st, char *err, size_t errlen)
{
	int fd, rc;

	buf_init(b, (size_t)USERS_FILE_MAX + 1);
	if ((fd = openat(dfd, base, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	} else if (!S_ISREG(st->st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
	} else if (st->st_size > (off_t)USERS_FILE_MAX ||
	    (rc = fdio_read_all(fd, b)) == -EFBIG) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: larger than %u bytes", path,
		    USERS_FILE_MAX);
	} else if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	close(fd);
	return rc;
}

static void users_ident_of(struct users_ident *id, int state,
    const struct stat *st)
{
	memset(id, 0, sizeof(*id));
	id->state = state;
	if (state != 1)
		return;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

static int users_ident_eq(const struct users_ident *a,
    const struct users_ident *b)
{
	return a->state == b->state && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int users_load(struct users **out, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	struct buf b;
	struct users *u;
	int rc, present;

	rc = users_read_at(AT_FDCWD, path, path, &b, &st, err, errlen);
	present = rc == 0;
	if (rc == 0)
		rc = users_parse(&u, path, b.data ? b.data : "", b.len, err,
		    errlen);
	else if (rc == -ENOENT)		/* no accounts yet */
		rc = users_parse(&u, path, "", 0, err, errlen);
	buf_free(&b);
	if (rc < 0)
		return rc;
	users_ident_of(&u->ident, present, &st);
	u->checked_ms = users_now_ms();
	*out = u;
	return 0;
}

int users_refresh(struct users **u, const char *path, char *err,
    size_t errlen)
{
	struct users_ident now;
	struct users *n;
	struct stat st;
	long long ms = users_now_ms();
	int rc;

	if (*u == NULL) {
		rc = users_load(u, path, err, errlen);
		return rc < 0 ? rc : 1;
	}
	if (ms - (*u)->checked_ms < USERS_REFRESH_MS)
		return 0;
	(*u)->checked_ms = ms;
	if (stat(path, &st) == 0)
		users_ident_of(&now, 1, &st);
	else
		users_ident_of(&now, errno == ENOENT ? 0 : -errno, NULL);
	if (users_ident_eq(&now, &(*u)->ident) ||
	    ((*u)->failed && users_ident_eq(&now, &(*u)->fail_ident)))
		return 0;
	if (now.state < 0 || (rc = users_load(&n, path, err, errlen)) < 0) {
		if (now.state < 0) {
			rc = now.state;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		}
		(*u)->failed = 1;	/* reported once per version */
		(*u)->fail_ident = now;
		return rc;
	}
	users_free(*u);
	*u = n;
	return 1;
}

void users_free(struct users *u)
{
	if (u == NULL)
		return;
	free(u->text);
	free(u->v);
	free(u->tab);
	free(u);
}

/* The entry of address (any case), or -1. */
static long users_lookup(const struct users *u, const char *address)
{
	char key[USERS_ADDRESS_MAX + 1];
	size_t n = strlen(address);

	if (u == NULL || n == 0 || n > USERS_ADDRESS_MAX)
		return -1;
	for (size_t i = 0; i <= n; i++)
		key[i] = (address[i] >= 'A' && address[i] <= 'Z') ?
		    (char)(address[i] + 32) : address[i];
	return users_find(u, key);
}

int users_exists(const struct users *u, const char *address)
{
	return users_lookup(u, address) >= 0;
}

const char *users_hash_of(const struct users *u, const char *address)
{
	long i = users_lookup(u, address);

	return i < 0 ? NULL : u->text + u->v[i].hash;
}

/* Equal strings, in time that depends on the lengths only. */
static int users_ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
	unsigned char d = la != lb;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int users_check_hash(const char *hash, const char *password)
{
	struct crypt_data *d = xcalloc(1, sizeof(*d));
	const char *h = hash != NULL ? hash : USERS_DUMMY_HASH;
	const char *r;
	int ok = 0;

	if (password != NULL && strlen(password) <= USERS_PASSWORD_MAX) {
		r = crypt_rn(password, h, d, (int)sizeof(*d));
		ok = r != NULL && r[0] != '*' && users_ct_equal(r, h);
	}
	explicit_bzero(d, sizeof(*d));
	free(d);
	return ok && hash != NULL;
}

size_t users_count(const struct users *u)
{
	return u != NULL ? u->n : 0;
}

const char *users_address(const struct users *u, size_t i)
{
	return u != NULL && i < u->n ? u->text + u->v[i].addr : NULL;
}

int users_hash(const char *password, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *d;
	const char *r;
	size_t n;
	int rc = 0;

	if (password == NULL || password[0] == '\0' ||
	    strlen(password) > USERS_PASSWORD_MAX)
		return -EINVAL;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return errno != 0 ? -errno : -EINVAL;
	d = xcalloc(1, sizeof(*d));
	r = crypt_rn(password, salt, d, (int)sizeof(*d));
	if (r == NULL || r[0] == '*')
		rc = -EINVAL;
	else if ((n = strlen(r)) >= outlen || n >= USERS_HASH_MAX)
		rc = -ENAMETOOLONG;
	else
		memcpy(out, r, n + 1);
	explicit_bzero(d, sizeof(*d));
	free(d);
	return rc;
}
