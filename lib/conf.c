/* conf: the mta.conf parser; see conf.h and mta.conf(5).  One table maps
 * each key to a value parser and a field of struct conf; the line reader
 * rejects garbage (NUL, control bytes, bad UTF-8, over-long lines) before
 * any key is looked at.  Every error becomes "file:line: message".  Values
 * derived from others (users_file, tls_*) are filled in after the whole
 * file is read, so their position in the file does not matter. */
#include "lib/conf.h"
#include "lib/fds.h"
#include "lib/addr.h"
#include "lib/fdio.h"
#include "lib/mem.h"
#include "lib/netaddr.h"
#include "lib/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_LINE_MAX 8192		/* bytes per line, newline excluded */
#define CONF_FILE_MAX (1024 * 1024)
#define CONF_ITEM_MAX 1024		/* bytes per list item */
#define CONF_WORKERS_MAX 1024

struct conf_key;
typedef int conf_value_fn(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen);

struct conf_key {
	const char *name;
	conf_value_fn *parse;
	size_t off;		/* the field in struct conf */
	size_t aux;		/* string: field size; list: offset of its count */
	uint64_t min, max;	/* numbers: accepted range */
};

static conf_value_fn v_hostname, v_path, v_listen, v_domains, v_nets, v_hop,
    v_dns, v_size, v_uint, v_duration, v_workers, v_bare_lf, v_user;

/* K: a scalar field and its accepted range; L: a list and its count. */
#define K(f, fn, lo, hi) { #f, fn, offsetof(struct conf, f), \
	sizeof(((struct conf *)0)->f), lo, hi }
#define L(f, fn) { #f, fn, offsetof(struct conf, f), \
	offsetof(struct conf, n_##f), 0, 0 }
#define DAYS(n) ((uint64_t)(n) * 86400)

static const struct conf_key conf_keys[] = {
	K(hostname, v_hostname, 0, 0),
	K(state_dir, v_path, 1, 0),		/* min 1: not empty */
	L(smtp_listen, v_listen),
	L(submission_listen, v_listen),
	L(smtps_listen, v_listen),
	L(pop3_listen, v_listen),
	L(pop3s_listen, v_listen),
	L(local_domains, v_domains),
	L(mynetworks, v_nets),
	K(relayhost, v_hop, 0, 0),
	K(transport_file, v_path, 0, 0),
	L(dns_servers, v_dns),
	K(users_file, v_path, 0, 0),
	K(aliases_file, v_path, 0, 0),
	K(tls_cert_file, v_path, 0, 0),
	K(tls_key_file, v_path, 0, 0),
	K(message_size_limit, v_size, 1024, UINT64_MAX),
	K(max_recipients, v_uint, 1, 1000000),
	K(retry_min, v_duration, 1, DAYS(365)),
	K(retry_max, v_duration, 1, DAYS(365)),
	K(queue_lifetime, v_duration, 0, DAYS(365)),
	K(destination_concurrency, v_uint, 1, 10000),
	K(smtpd_workers, v_workers, 1, CONF_WORKERS_MAX),
	K(remote_workers, v_workers, 1, CONF_WORKERS_MAX),
	K(smtpd_timeout_command, v_duration, 1, DAYS(1)),
	K(smtpd_timeout_data, v_duration, 1, DAYS(1)),
	K(smtpd_timeout_idle, v_duration, 1, DAYS(1)),
	K(smtpd_line_limit, v_uint, 512, 1048576),
	K(smtpd_error_limit, v_uint, 1, 1000000),
	K(smtpd_max_connections, v_uint, 1, 10000000),
	K(smtpd_bare_lf, v_bare_lf, 0, 0),
	K(queue_checkpoint_ms, v_uint, 1, 3600000),
	K(delay_warning_time, v_duration, 0, DAYS(365)),
	K(qmgr_active_limit, v_uint, 100, 10000000),
	K(smtp_connection_reuse_limit, v_uint, 1, 1000000),
	K(smtp_connection_idle, v_duration, 0, DAYS(1)),
	K(smtp_rcpt_limit, v_uint, 1, 100000),
	K(smtp_connect_timeout, v_duration, 1, DAYS(1)),
	K(smtp_command_timeout, v_duration, 1, DAYS(1)),
	K(smtp_data_timeout, v_duration, 1, DAYS(1)),
	K(smtp_dot_timeout, v_duration, 1, DAYS(1)),
	K(smtp_helo_name, v_hostname, 0, 0),
	K(user_smtpd, v_user, 0, 0),
	K(user_queue, v_user, 0, 0),
	K(user_remote, v_user, 0, 0),
	K(user_local, v_user, 0, 0),
};

#define CONF_NKEYS ARRAY_LEN(conf_keys)

/* The state of one parse: where errors go, which keys were seen where. */
struct conf_parser {
	struct conf *c;
	const char *name;
	char *err;
	size_t errlen;
	unsigned seen[CONF_NKEYS];	/* line of the key, 0: not set */
};

static void *field(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

static int fail(struct conf_parser *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct conf_parser *ps, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->errlen == 0)
		return -1;
	if (line > 0)
		n = snprintf(ps->err, ps->errlen, "%s:%u: ", ps->name, line);
	else
		n = snprintf(ps->err, ps->errlen, "%s: ", ps->name);
	if (n < 0 || (size_t)n >= ps->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trim spaces and tabs around s[0..*n) in place; returns the new start. */
static char *trim(char *s, size_t *n)
{
	while (*n > 0 && is_space(*s)) {
		s++;
		(*n)--;
	}
	while (*n > 0 && is_space(s[*n - 1]))
		(*n)--;
	s[*n] = '\0';
	return s;
}

/* --- numbers, sizes, durations ----------------------------------------- */

/* Digits with an optional one-letter unit from units (lower case) whose
 * multipliers are in mult.  -EINVAL on junk, -ERANGE on overflow. */
static int parse_scaled(const char *s, const char *units,
    const uint64_t *mult, uint64_t *out)
{
	uint64_t v = 0, m = 1;
	size_t i = 0;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return -ERANGE;
	if (s[i] != '\0') {
		const char *u = strchr(units, s[i] | 0x20);

		if (s[i + 1] != '\0' || u == NULL || *u == '\0')
			return -EINVAL;
		m = mult[u - units];
	}
	if (__builtin_mul_overflow(v, m, &v))
		return -ERANGE;
	*out = v;
	return 0;
}

static const uint64_t size_mult[] = { 1024, 1024 * 1024,
	1024 * 1024 * 1024 };
static const uint64_t duration_mult[] = { 1, 60, 3600, 86400 };

int conf_parse_size(const char *s, uint64_t *out)
{
	return parse_scaled(s, "kmg", size_mult, out) < 0 ? -EINVAL : 0;
}

int conf_parse_duration(const char *s, unsigned *out)
{
	uint64_t v;

	if (parse_scaled(s, "smhd", duration_mult, &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int range_msg(const struct conf_key *k, uint64_t v, char *msg,
    size_t msglen)
{
	if (v >= k->min && v <= k->max)
		return 0;
	snprintf(msg, msglen, "must be between %llu and %llu",
	    (unsigned long long)k->min, (unsigned long long)k->max);
	return -1;
}

/* How one kind of number is written. */
struct conf_units {
	const char *what, *letters, *hint;
	const uint64_t *mult;
};

static const struct conf_units units_plain = { "number", "", "", NULL };
static const struct conf_units units_size = { "size", "kmg",
	" (number with k, m or g)", size_mult };
static const struct conf_units units_duration = { "duration", "smhd",
	" (number with s, m, h or d)", duration_mult };

/* A number into a uint64_t or unsigned field (by its size), in range. */
static int set_number(struct conf *c, const struct conf_key *k,
    const char *val, const struct conf_units *u, char *msg, size_t msglen)
{
	uint64_t v;
	int rc = parse_scaled(val, u->letters, u->mult, &v);

	if (rc < 0) {
		if (rc == -ERANGE)
			snprintf(msg, msglen, "%s too large", u->what);
		else
			snprintf(msg, msglen, "bad %s \"%s\"%s", u->what, val,
			    u->hint);
		return -1;
	}
	if (range_msg(k, v, msg, msglen) < 0)
		return -1;
	if (k->aux == sizeof(uint64_t))
		*(uint64_t *)field(c, k) = v;
	else
		*(unsigned *)field(c, k) = (unsigned)v;
	return 0;
}

static int v_size(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	return set_number(c, k, val, &units_size, msg, msglen);
}

static int v_uint(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	return set_number(c, k, val, &units_plain, msg, msglen);
}

static int v_duration(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	return set_number(c, k, val, &units_duration, msg, msglen);
}

static unsigned cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > CONF_WORKERS_MAX ? CONF_WORKERS_MAX : (unsigned)n;
}

static int v_workers(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (strcmp(val, "auto") == 0) {
		*(unsigned *)field(c, k) = cpu_count();
		return 0;
	}
	return v_uint(c, k, val, msg, msglen);
}

/* --- strings ------------------------------------------------------------ */

static int set_string(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (strlen(val) >= k->aux) {
		snprintf(msg, msglen, "too long (max %zu bytes)", k->aux - 1);
		return -1;
	}
	snprintf(field(c, k), k->aux, "%s", val);
	return 0;
}

static int v_path(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	if (k->min > 0 && val[0] == '\0') {
		snprintf(msg, msglen, "must not be empty");
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

static int v_hostname(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (val[0] == '[' || addr_valid_domain(val, strlen(val), 0) != 0) {
		snprintf(msg, msglen, "bad host name \"%s\"", val);
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

static int v_bare_lf(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (strcmp(val, "normalize") != 0 && strcmp(val, "reject") != 0) {
		snprintf(msg, msglen, "must be \"normalize\" or \"reject\"");
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

/* A portable user name: [A-Za-z0-9._-], not starting with '-'. */
static int v_user(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	size_t n = strlen(val);
	int ok = n > 0 && n <= 32 && val[0] != '-';

	for (size_t i = 0; ok && i < n; i++)
		ok = (val[i] >= 'a' && val[i] <= 'z') ||
		    (val[i] >= 'A' && val[i] <= 'Z') ||
		    (val[i] >= '0' && val[i] <= '9') ||
		    val[i] == '.' || val[i] == '_' || val[i] == '-';
	if (!ok) {
		snprintf(msg, msglen, "bad user name \"%s\"", val);
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

/* --- lists -------------------------------------------------------------- */

/* The next comma-separated item of *p into item; 1, 0 at the end, -1 with
 * a message for an empty or over-long item. */
static int list_next(const char **p, char *item, char *msg, size_t msglen)
{
	const char *s = *p, *comma;
	size_t n;
	char *t;

	if (s == NULL)
		return 0;
	comma = strchr(s, ',');
	n = comma ? (size_t)(comma - s) : strlen(s);
	*p = comma ? comma + 1 : NULL;
	if (n >= CONF_ITEM_MAX) {
		snprintf(msg, msglen, "list item too long");
		return -1;
	}
	memcpy(item, s, n);
	t = trim(item, &n);
	memmove(item, t, n + 1);
	if (n == 0) {
		snprintf(msg, msglen, "empty list item");
		return -1;
	}
	return 1;
}

/* Check that one more entry fits a list of CONF_LIST_MAX. */
static int list_room(size_t n, size_t more, char *msg, size_t msglen)
{
	if (n + more <= CONF_LIST_MAX)
		return 0;
	snprintf(msg, msglen, "too many entries (max %d)", CONF_LIST_MAX);
	return -1;
}

typedef int conf_item_fn(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen);

/* Call fn on every item of a list value; an empty value has none. */
static int each_item(struct conf *c, const struct conf_key *k,
    const char *val, conf_item_fn *fn, char *msg, size_t msglen)
{
	char item[CONF_ITEM_MAX];
	int rc;

	if (val[0] == '\0')
		return 0;
	while ((rc = list_next(&val, item, msg, msglen)) > 0)
		if (fn(c, k, item, msg, msglen) < 0)
			return -1;
	return rc;
}

static size_t *list_count(struct conf *c, const struct conf_key *k)
{
	return (size_t *)(void *)((char *)c + k->aux);
}

/* One listener "host:port" / "[v6]:port" (a name may give several). */
static int item_listen(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	const char *why = "bad address";

	if (netaddr_parse_listen(item, field(c, k), list_count(c, k),
	    CONF_LIST_MAX, &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", item, why);
		return -1;
	}
	return 0;
}

/* One DNS server: a numeric "ip", "ip:port" or "[ipv6]:port". */
static int item_dns(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	const char *why = "bad address";

	if (list_room(c->n_dns_servers, 1, msg, msglen) < 0)
		return -1;
	if (netaddr_parse_server(item, 53, &c->dns_servers[c->n_dns_servers],
	    &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", item, why);
		return -1;
	}
	c->n_dns_servers++;
	return 0;
}

/* One local domain, stored lower-cased. */
static int item_domain(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	char *d;

	if (addr_valid_domain(item, strlen(item), 1) != 0) {
		snprintf(msg, msglen, "bad domain \"%s\"", item);
		return -1;
	}
	if (list_room(c->n_local_domains, 1, msg, msglen) < 0)
		return -1;
	d = xstrdup(item);
	for (char *p = d; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	c->local_domains[c->n_local_domains++] = d;
	return 0;
}

/* One network of mynetworks. */
static int item_net(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	struct conf_net *net = &c->mynetworks[c->n_mynetworks];
	const char *why = "bad network";

	if (list_room(c->n_mynetworks, 1, msg, msglen) < 0)
		return -1;
	if (netaddr_parse_cidr(item, &net->family, net->addr, &net->prefix,
	    &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", item, why);
		return -1;
	}
	c->n_mynetworks++;
	return 0;
}

/* An empty *_listen value turns that service off. */
static int v_listen(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	*list_count(c, k) = 0;
	return each_item(c, k, val, item_listen, msg, msglen);
}

static int v_dns(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	c->n_dns_servers = 0;
	return each_item(c, k, val, item_dns, msg, msglen);
}

static int v_domains(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	conf_free(c);
	return each_item(c, k, val, item_domain, msg, msglen);
}

static int v_nets(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	c->n_mynetworks = 0;
	return each_item(c, k, val, item_net, msg, msglen);
}

/* "[host]:port" (no MX lookup), "[host]", "host:port" or "host". */
static int v_hop(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	const char *why = "bad host name";

	memset(&c->relayhost, 0, sizeof(c->relayhost));
	if (val[0] != '\0' && netaddr_parse_hop(val, 25, &c->relayhost,
	    &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", val, why);
		return -1;
	}
	return 0;
}

/* --- defaults ------------------------------------------------------------ */

/* dst = "$state_dir/suffix" unless it was set; -1 if it does not fit. */
static int derive(const struct conf *c, char *dst, size_t dstlen,
    const char *suffix)
{
	int n;

	if (dst[0] != '\0')
		return 0;
	n = snprintf(dst, dstlen, "%s/%s", c->state_dir, suffix);
	if (n < 0 || (size_t)n >= dstlen) {
		dst[0] = '\0';
		return -1;
	}
	return 0;
}

/* Fill users_file and the TLS files from state_dir where left empty. */
static int derive_paths(struct conf *c)
{
	if (derive(c, c->users_file, sizeof(c->users_file), "users") < 0 ||
	    derive(c, c->tls_cert_file, sizeof(c->tls_cert_file),
	    "tls/cert.pem") < 0 ||
	    derive(c, c->tls_key_file, sizeof(c->tls_key_file),
	    "tls/key.pem") < 0)
		return -1;
	return 0;
}

static const struct conf_key *key_find(const char *name, size_t *idx)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &conf_keys[i];
		}
	return NULL;
}

/* Set a key from built-in text that is known to be valid. */
static void set_default(struct conf *c, const char *name, const char *val)
{
	const struct conf_key *k = key_find(name, NULL);
	char msg[CONF_ERR_MAX];

	if (k == NULL || k->parse(c, k, val, msg, sizeof(msg)) < 0)
		abort();	/* a broken built-in default */
}

static void default_hostname(struct conf *c)
{
	if (gethostname(c->hostname, sizeof(c->hostname)) < 0)
		c->hostname[0] = '\0';
	c->hostname[sizeof(c->hostname) - 1] = '\0';
	if (c->hostname[0] == '\0')
		snprintf(c->hostname, sizeof(c->hostname), "localhost");
}

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "(defaults)");
	default_hostname(c);
	snprintf(c->state_dir, sizeof(c->state_dir), "./var");
	set_default(c, "smtp_listen", "127.0.0.1:2525");
	set_default(c, "submission_listen", "127.0.0.1:2587");
	set_default(c, "smtps_listen", "127.0.0.1:2465");
	set_default(c, "pop3_listen", "127.0.0.1:2110");
	set_default(c, "pop3s_listen", "127.0.0.1:2995");
	set_default(c, "local_domains", "localhost");
	set_default(c, "mynetworks", "127.0.0.0/8, ::1/128");
	c->message_size_limit = 50 * 1024 * 1024;
	c->max_recipients = 1000;
	c->retry_min = 5 * 60;
	c->retry_max = 4 * 3600;
	c->queue_lifetime = 5 * 86400;
	c->destination_concurrency = 20;
	c->smtpd_workers = c->remote_workers = cpu_count();
	c->smtpd_timeout_command = 300;
	c->smtpd_timeout_data = 180;
	c->smtpd_timeout_idle = 300;
	c->smtpd_line_limit = 2048;
	c->smtpd_error_limit = 20;
	c->smtpd_max_connections = 10000;
	snprintf(c->smtpd_bare_lf, sizeof(c->smtpd_bare_lf), "normalize");
	c->queue_checkpoint_ms = 1000;
	c->delay_warning_time = 0;
	c->qmgr_active_limit = 20000;
	c->smtp_connection_reuse_limit = 100;
	c->smtp_connection_idle = 5;
	c->smtp_rcpt_limit = 100;
	c->smtp_connect_timeout = 30;
	c->smtp_command_timeout = 300;
	c->smtp_data_timeout = 180;
	c->smtp_dot_timeout = 600;
	snprintf(c->user_smtpd, sizeof(c->user_smtpd), "mta-smtpd");
	snprintf(c->user_queue, sizeof(c->user_queue), "mta-queue");
	snprintf(c->user_remote, sizeof(c->user_remote), "mta-remote");
	snprintf(c->user_local, sizeof(c->user_local), "mta-local");
	derive_paths(c);
}

/* --- the line reader ----------------------------------------------------- */

/* Reject garbage before looking at the line: NUL, control bytes (tab is
 * fine), bad UTF-8.  Returns a reason or NULL. */
static const char *line_garbage(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		size_t k;

		if (ch == '\0')
			return "NUL byte";
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return "control character";
		if (ch < 0x80)
			continue;
		if ((k = utf8_seq_len(s + i, n - i)) == 0)
			return "invalid UTF-8";
		i += k - 1;
	}
	return NULL;
}

/* Cut a comment: '#' at the start or after a space or tab. */
static void cut_comment(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if (*p == '#' && (p == s || is_space(p[-1]))) {
			*p = '\0';
			return;
		}
}

static int key_syntax_ok(const char *k)
{
	if (*k == '\0')
		return 0;
	for (; *k != '\0'; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
		    *k == '_'))
			return 0;
	return 1;
}

/* "key = value" in buf (NUL-terminated, comment cut). */
static int parse_assignment(struct conf_parser *ps, unsigned line, char *buf)
{
	char msg[CONF_ERR_MAX], *eq = strchr(buf, '='), *key, *val;
	const struct conf_key *k;
	size_t idx, kn, vn;

	if (eq == NULL)
		return fail(ps, line, "missing '=' (expected \"key = value\")");
	kn = (size_t)(eq - buf);
	vn = strlen(eq + 1);
	key = trim(buf, &kn);
	val = trim(eq + 1, &vn);
	if (!key_syntax_ok(key))
		return fail(ps, line, "bad key \"%.64s\"", key);
	if ((k = key_find(key, &idx)) == NULL)
		return fail(ps, line, "unknown key \"%.64s\"", key);
	if (ps->seen[idx] != 0)
		return fail(ps, line, "duplicate key \"%s\" (first set on line %u)",
		    key, ps->seen[idx]);
	ps->seen[idx] = line;
	msg[0] = '\0';
	if (k->parse(ps->c, k, val, msg, sizeof(msg)) < 0)
		return fail(ps, line, "%s: %s", key, msg);
	return 0;
}

static int parse_line(struct conf_parser *ps, unsigned line, const char *s,
    size_t n)
{
	char buf[CONF_LINE_MAX + 1], *t;
	const char *why;

	if (n > 0 && s[n - 1] == '\r')
		n--;			/* CRLF files */
	if (n > CONF_LINE_MAX)
		return fail(ps, line, "line too long (max %d bytes)",
		    CONF_LINE_MAX);
	if ((why = line_garbage(s, n)) != NULL)
		return fail(ps, line, "%s", why);
	memcpy(buf, s, n);
	buf[n] = '\0';
	cut_comment(buf);
	n = strlen(buf);
	t = trim(buf, &n);
	if (n == 0)
		return 0;
	return parse_assignment(ps, line, t);
}

/* The line a key was set on, 0 if it kept its default. */
static unsigned seen_line(const struct conf_parser *ps, const char *name)
{
	size_t i;

	return key_find(name, &i) != NULL ? ps->seen[i] : 0;
}

/* After the last line: derived values and checks across keys. */
static int finish(struct conf_parser *ps)
{
	static const char *const derived[] = { "users_file", "tls_cert_file",
		"tls_key_file" };
	struct conf *c = ps->c;
	unsigned l1, l2;

	/* Not set in the file: follow the final state_dir. */
	for (size_t i = 0; i < ARRAY_LEN(derived); i++)
		if (seen_line(ps, derived[i]) == 0) {
			const struct conf_key *k = key_find(derived[i], NULL);

			((char *)field(c, k))[0] = '\0';
		}
	if (derive_paths(c) < 0)
		return fail(ps, seen_line(ps, "state_dir"),
		    "state_dir: too long for the files under it");
	if (c->retry_min > c->retry_max) {
		l1 = seen_line(ps, "retry_min");
		l2 = seen_line(ps, "retry_max");
		return fail(ps, l1 > l2 ? l1 : l2,
		    "retry_min (%us) is greater than retry_max (%us)",
		    c->retry_min, c->retry_max);
	}
	return 0;
}

static int parse_text(struct conf_parser *ps, const char *text, size_t len)
{
	size_t pos = 0;
	unsigned line = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;		/* a UTF-8 byte order mark */
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		if (line == UINT32_MAX)
			return fail(ps, line, "too many lines");
		if (parse_line(ps, ++line, text + pos, n) < 0)
			return -1;
		pos += n + (nl != NULL);
	}
	return finish(ps);
}

/* --- entry points -------------------------------------------------------- */

int conf_load_string(struct conf *c, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	struct conf_parser ps;

	if (name == NULL)
		name = "(string)";
	memset(&ps, 0, sizeof(ps));
	ps.c = c;
	ps.name = name;
	ps.err = err;
	ps.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	conf_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", name);
	if (parse_text(&ps, text, len) < 0) {
		conf_free(c);
		return -1;
	}
	return 0;
}

/* Read a whole regular file into data (its limit: CONF_FILE_MAX). */
static int read_file(const char *path, struct buf *data, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = errno ? -errno : -EIO;
		*why = strerror(-rc);
	} else if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		*why = "not a regular file";
	} else if ((rc = fdio_read_all(fd, data)) == -EFBIG) {
		*why = "file too large";
	} else if (rc < 0) {
		*why = strerror(-rc);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int conf_load_file(struct conf *c, const char *path, char *err,
    size_t errlen)
{
	const char *why = "";
	struct buf data;
	int rc;

	buf_init(&data, CONF_FILE_MAX);
	if (read_file(path, &data, &why) < 0) {
		buf_free(&data);
		conf_defaults(c);
		conf_free(c);
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	rc = conf_load_string(c, path, buf_cstr(&data), data.len, err,
	    errlen);
	buf_free(&data);
	return rc;
}

int conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	const char *env = getenv("MTA_CONF");

	if (path != NULL)
		return conf_load_file(c, path, err, errlen);
	if (env != NULL && env[0] != '\0')
		return conf_load_file(c, env, err, errlen);
	if (access("mta.conf", F_OK) == 0)
		return conf_load_file(c, "mta.conf", err, errlen);
	return conf_load_string(c, "(defaults)", "", 0, err, errlen);
}

void conf_load_args(struct conf *c, int argc, char **argv, const char *usage,
    const char *prefix)
{
	const char *path = NULL;
	char err[CONF_ERR_MAX], fdpath[32];
	int ch, fd;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch != 'c')
			break;
		path = optarg;
	}
	if (ch != -1 || optind != argc) {
		fprintf(stderr, "%s\n", usage);
		exit(2);
	}
	/* Started by a root master: read the config it already validated
	 * through the descriptor it handed over (lib/fds.h). */
	if (path != NULL && fds_get(MTA_FD_ROLE_CONF, &fd, 1) == 1) {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		path = fdpath;
	}
	if (conf_load(c, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s%s%s\n", prefix ? prefix : "",
		    prefix ? ": " : "", err);
		exit(2);
	}
	/* Started by a root master: reach state_dir through the descriptor it
	 * handed over, whatever the permissions of the directories above. */
	if (fds_get(MTA_FD_ROLE_STATEDIR, &fd, 1) == 1)
		snprintf(c->state_dir, sizeof(c->state_dir), "/proc/self/fd/%d",
		    fd);
}

void conf_free(struct conf *c)
{
	for (size_t i = 0; i < c->n_local_domains; i++) {
		free(c->local_domains[i]);
		c->local_domains[i] = NULL;
	}
	c->n_local_domains = 0;
}

int conf_is_local_domain(const struct conf *c, const char *domain)
{
	for (size_t i = 0; i < c->n_local_domains; i++)
		if (strcasecmp(c->local_domains[i], domain) == 0)
			return 1;
	return 0;
}

int conf_in_mynetworks(const struct conf *c, const struct sockaddr *sa)
{
	for (size_t i = 0; i < c->n_mynetworks; i++) {
		const struct conf_net *n = &c->mynetworks[i];

		if (netaddr_net_match(n->family, n->addr, n->prefix, sa))
			return 1;
	}
	return 0;
}
