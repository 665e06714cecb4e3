/* maildir: mailbox paths, directory creation, the unique file names with
 * S= and W= sizes, and the stored-form -> POP3-wire size count.  See
 * maildir.h.  Names and paths are built only from addresses that pass
 * maildir_address_ok, so no '/' or ".." can come from a peer. */
#include "lib/maildir.h"
#include "lib/addr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int local_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '+' ||
	    ch == '-';
}

int maildir_address_ok(const char *address)
{
	const char *at = strrchr(address, '@');
	size_t n;

	if (at == NULL)
		return 0;
	n = (size_t)(at - address);
	if (n == 0 || n > MAILDIR_LOCAL_MAX || address[0] == '.' ||
	    at[-1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!local_char_ok(address[i]) ||
		    (address[i] == '.' && address[i + 1] == '.'))
			return 0;
	return addr_valid_domain(at + 1, strlen(at + 1), 0) == 0 &&
	    strchr(at + 1, '/') == NULL && at[1] != '.';
}

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int maildir_path(const char *mail_root, const char *address, char *out,
    size_t outlen)
{
	const char *at;
	size_t root_len;
	int n;

	if (!maildir_address_ok(address))
		return -EINVAL;
	at = strrchr(address, '@');
	n = snprintf(out, outlen, "%s/%s/%.*s/Maildir", mail_root, at + 1,
	    (int)(at - address), address);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	root_len = strlen(mail_root);
	out[n - strlen("/Maildir")] = '\0';
	lower(out + root_len);	/* the root keeps its case, "Maildir" too */
	out[n - strlen("/Maildir")] = '/';
	return 0;
}

static int mkdir_ok(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

int maildir_create(const char *mail_root, const char *path)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	size_t root_len = strlen(mail_root);
	char buf[4096];
	int r;

	if (strncmp(path, mail_root, root_len) != 0 || path[root_len] != '/' ||
	    strlen(path) + 5 > sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", path);
	/* Each parent below the root, then the Maildir itself. */
	for (char *p = buf + root_len + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		r = mkdir_ok(buf);
		*p = '/';
		if (r < 0)
			return r;
	}
	if ((r = mkdir_ok(buf)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(buf, sizeof(buf), "%s/%s", path, subs[i]);
		if ((r = mkdir_ok(buf)) < 0)
			return r;
	}
	return 0;
}

int maildir_name(char *out, size_t outlen, uint64_t usec, long pid,
    uint64_t seq, const char *host, uint64_t size, uint64_t wire)
{
	char h[256];
	size_t i;
	int n;

	/* '/' would make a path, ':' starts the info part, ',' our fields. */
	for (i = 0; host[i] != '\0' && i + 1 < sizeof(h); i++)
		h[i] = (host[i] == '/' || host[i] == ':' || host[i] == ',') ?
		    '_' : host[i];
	h[i] = '\0';
	n = snprintf(out, outlen, "%llu.M%06lluP%ldQ%llu.%s,S=%llu,W=%llu",
	    (unsigned long long)(usec / 1000000),
	    (unsigned long long)(usec % 1000000), pid,
	    (unsigned long long)seq, h, (unsigned long long)size,
	    (unsigned long long)wire);
	if (n < 0 || (size_t)n >= outlen || (size_t)n > MAILDIR_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The decimal after "key" in name[0..len), or UINT64_MAX. */
static uint64_t field_value(const char *name, size_t len, const char *key)
{
	size_t klen = strlen(key);
	uint64_t v = 0;
	size_t i;

	for (i = 0; i + klen <= len; i++)
		if (memcmp(name + i, key, klen) == 0 && i + klen < len &&
		    name[i + klen] >= '0' && name[i + klen] <= '9')
			break;
	if (i + klen > len)
		return UINT64_MAX;
	for (i += klen; i < len && name[i] >= '0' && name[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	return v;
}

int maildir_name_parse(const char *name, uint64_t *size, uint64_t *wire,
    size_t *uniq_len)
{
	const char *colon = strchr(name, ':');
	size_t len = colon != NULL ? (size_t)(colon - name) : strlen(name);

	if (len == 0 || name[0] == '.' || strchr(name, '/') != NULL)
		return -EINVAL;
	*size = field_value(name, len, ",S=");
	*wire = field_value(name, len, ",W=");
	*uniq_len = len;
	return 0;
}

void maildir_wire_init(struct maildir_wire *w)
{
	w->last_cr = 0;
	w->at_bol = 1;
}

uint64_t maildir_wire_count(struct maildir_wire *w, const char *in,
    size_t n)
{
	uint64_t out = n;
	const char *p = in, *end = in + n, *lf;

	if (n == 0)
		return 0;
	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		int cr_before = lf > in ? lf[-1] == '\r' : w->last_cr;

		if (!cr_before)
			out++;
		p = lf + 1;
		if (p == end)
			break;
	}
	w->last_cr = end[-1] == '\r';
	w->at_bol = end[-1] == '\n';
	return out;
}

uint64_t maildir_wire_end(const struct maildir_wire *w)
{
	return w->at_bol ? 0 : 2;
}
