/* transport: the transport_file table (mta.conf(5)): one next hop per
 * recipient domain, overriding relayhost and MX lookups.  Lines are
 * `domain [host]:port`, `domain host:port`, `domain host`, `domain [host]`
 * or `domain local`, remote ones optionally followed by
 * `tls=none|may|must|verify` (lib/tls_policy.h); `#` starts a comment;
 * `.domain` matches every subdomain of domain (not domain itself).  The
 * parser is strict and bounded (hostile input is a config error, never a
 * crash); the queue manager reloads the file when its mtime changes. */
#ifndef LIB_TRANSPORT_H
#define LIB_TRANSPORT_H
#include <stddef.h>
#include <time.h>

#include "lib/tls_policy.h"

#define TRANSPORT_LINE_MAX 1024		/* bytes of one line, LF included */
#define TRANSPORT_ENTRIES_MAX 100000
#define TRANSPORT_FILE_MAX (16u << 20)	/* bytes of the whole file */
#define TRANSPORT_ERR_MAX 512

enum transport_kind {
	TRANSPORT_LOCAL,	/* the local agent */
	TRANSPORT_HOST,		/* host:port, MX lookup of host */
	TRANSPORT_ADDR,		/* [host]:port, A/AAAA only */
};

struct transport_entry {
	char *key;		/* lower-cased domain; ".domain" for subdomains */
	enum transport_kind kind;
	char host[256];		/* without brackets */
	unsigned port;
	enum tls_policy tls;	/* TLS_POLICY_DEFAULT: not given */
};

struct transport {
	struct transport_entry *v;	/* sorted by key */
	size_t n;
};

/* Parse text[0..len) as the file "name" into t (replaced only on
 * success).  0, or -EINVAL with "name:line: message" in err. */
int transport_parse(struct transport *t, const char *name, const char *text,
    size_t len, char *err, size_t errlen);
/* Read and parse the file at path (blocking).  0 or -errno / -EINVAL,
 * with a message in err. */
int transport_load(struct transport *t, const char *path, char *err,
    size_t errlen);
/* The same from an open descriptor (read from offset 0 with pread, so a
 * descriptor handed over by the master can be read again); name is used
 * in messages. */
int transport_load_fd(struct transport *t, int fd, const char *name,
    char *err, size_t errlen);
/* Free the table (t is empty afterwards). */
void transport_free(struct transport *t);
/* The entry for domain (any case): the exact name first, then ".parent"
 * entries from the closest parent up; NULL if none. */
const struct transport_entry *transport_lookup(const struct transport *t,
    const char *domain);
/* The next hop string of docs/delivery-protocol.md ("local",
 * "host:HOST:PORT", "addr:HOST:PORT", the last two with ";tls=POLICY"
 * when the line gave one) into out; 0 or -ENAMETOOLONG.  The policy is
 * part of the string, so recipients with different policies never share
 * a job, a destination or a cached connection. */
int transport_nexthop(const struct transport_entry *e, char *out, size_t n);
#endif
