/* conf: the mta.conf parser; see conf.h and mta.conf(5).  One table maps
 * each key to a value parser and a field of struct conf; the line reader
 * rejects garbage (NUL, control bytes, bad UTF-8, over-long lines) before
 * any key is looked at.  Every error becomes "file:line: message".  Values
 * derived from others (users_file, tls_*) are filled in after the whole
 * file is read, so their position in the file does not matter. */
#include "lib/conf.h"
#include "lib/conf_int.h"
#include "lib/fds.h"
#include "lib/addr.h"
#include "lib/fdio.h"
#include "lib/mem.h"
#include "lib/netaddr.h"
#include "lib/tls_policy.h"
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


/* K: a scalar field and its accepted range; L: a list and its count. */
#define K(f, fn, lo, hi) { #f, fn, offsetof(struct conf, f), \
	sizeof(((struct conf *)0)->f), lo, hi }
#define L(f, fn) { #f, fn, offsetof(struct conf, f), \
	offsetof(struct conf, n_##f), 0, 0 }
#define DAYS(n) ((uint64_t)(n) * 86400)

static const struct conf_key conf_keys[] = {
	K(hostname, conf_v_hostname, 0, 0),
	K(state_dir, conf_v_path, 1, 0),		/* min 1: not empty */
	L(smtp_listen, conf_v_listen),
	L(submission_listen, conf_v_listen),
	L(smtps_listen, conf_v_listen),
	L(pop3_listen, conf_v_listen),
	L(pop3s_listen, conf_v_listen),
	L(local_domains, conf_v_domains),
	L(mynetworks, conf_v_nets),
	K(relayhost, conf_v_hop, 0, 0),
	K(transport_file, conf_v_path, 0, 0),
	L(dns_servers, conf_v_dns),
	K(users_file, conf_v_path, 0, 0),
	K(aliases_file, conf_v_path, 0, 0),
	K(tls_cert_file, conf_v_path, 0, 0),
	K(tls_key_file, conf_v_path, 0, 0),
	K(message_size_limit, conf_v_size, 1024, UINT64_MAX),
	K(max_recipients, conf_v_uint, 1, 1000000),
	K(retry_min, conf_v_duration, 1, DAYS(365)),
	K(retry_max, conf_v_duration, 1, DAYS(365)),
	K(queue_lifetime, conf_v_duration, 0, DAYS(365)),
	K(destination_concurrency, conf_v_uint, 1, 10000),
	K(smtpd_workers, conf_v_workers, 1, CONF_WORKERS_MAX),
	K(remote_workers, conf_v_workers, 1, CONF_WORKERS_MAX),
	K(smtpd_timeout_command, conf_v_duration, 1, DAYS(1)),
	K(smtpd_timeout_data, conf_v_duration, 1, DAYS(1)),
	K(smtpd_timeout_idle, conf_v_duration, 1, DAYS(1)),
	K(smtpd_line_limit, conf_v_uint, 512, 1048576),
	K(smtpd_error_limit, conf_v_uint, 1, 1000000),
	K(smtpd_max_connections, conf_v_uint, 1, 10000000),
	K(smtpd_client_connection_limit, conf_v_uint, 0, 10000000),
	K(smtpd_bare_lf, conf_v_bare_lf, 0, 0),
	K(queue_checkpoint_ms, conf_v_uint, 1, 3600000),
	K(delay_warning_time, conf_v_duration, 0, DAYS(365)),
	K(qmgr_active_limit, conf_v_uint, 100, 10000000),
	K(smtp_connection_reuse_limit, conf_v_uint, 1, 1000000),
	K(smtp_connection_idle, conf_v_duration, 0, DAYS(1)),
	K(smtp_rcpt_limit, conf_v_uint, 1, 100000),
	K(smtp_connect_timeout, conf_v_duration, 1, DAYS(1)),
	K(smtp_command_timeout, conf_v_duration, 1, DAYS(1)),
	K(smtp_data_timeout, conf_v_duration, 1, DAYS(1)),
	K(smtp_dot_timeout, conf_v_duration, 1, DAYS(1)),
	K(smtp_helo_name, conf_v_hostname, 0, 0),
	K(smtp_tls_policy, conf_v_tls_policy, 0, 0),
	K(smtp_tls_ca_file, conf_v_path, 0, 0),
	K(user_smtpd, conf_v_user, 0, 0),
	K(user_queue, conf_v_user, 0, 0),
	K(user_remote, conf_v_user, 0, 0),
	K(user_local, conf_v_user, 0, 0),
	K(group_auth, conf_v_user, 0, 0),
	K(mailbox_quota, conf_v_size, 0, UINT64_MAX),
	K(mailbox_quota_action, conf_v_quota_action, 0, 0),
	K(local_concurrency, conf_v_uint, 1, 10000),
	K(pop3_timeout, conf_v_duration, 1, DAYS(1)),
	K(pop3_max_connections, conf_v_uint, 1, 10000000),
	K(pop3_client_connection_limit, conf_v_uint, 0, 10000000),
	K(pop3_auth_fail_delay, conf_v_duration, 0, 60),
	K(pop3_auth_fail_limit, conf_v_uint, 1, 1000000),
	K(pop3_auth_fail_window, conf_v_duration, 1, DAYS(1)),
	K(pop3_plaintext_loopback, conf_v_bool, 0, 0),
	K(auth_plaintext_loopback, conf_v_bool, 0, 0),
	K(auth_cache_ttl, conf_v_duration, 0, DAYS(1)),
	K(smtpd_sender_login_match, conf_v_bool, 0, 0),
	K(seccomp, conf_v_bool, 0, 0),
	K(smtpd_auth_fail_delay, conf_v_duration, 0, 60),
	K(smtpd_auth_fail_limit, conf_v_uint, 1, 1000000),
	K(smtpd_auth_fail_window, conf_v_duration, 1, DAYS(1)),
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
	c->smtpd_workers = c->remote_workers = conf_cpu_count();
	c->smtpd_timeout_command = 300;
	c->smtpd_timeout_data = 180;
	c->smtpd_timeout_idle = 300;
	c->smtpd_line_limit = 2048;
	c->smtpd_error_limit = 20;
	c->smtpd_max_connections = 20000;
	c->smtpd_client_connection_limit = 50;
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
	c->smtp_tls_policy = TLS_POLICY_MAY;
	snprintf(c->user_smtpd, sizeof(c->user_smtpd), "mta-smtpd");
	snprintf(c->user_queue, sizeof(c->user_queue), "mta-queue");
	snprintf(c->user_remote, sizeof(c->user_remote), "mta-remote");
	snprintf(c->user_local, sizeof(c->user_local), "mta-local");
	snprintf(c->group_auth, sizeof(c->group_auth), "mta-auth");
	c->mailbox_quota = 0;
	snprintf(c->mailbox_quota_action, sizeof(c->mailbox_quota_action),
	    "defer");
	c->local_concurrency = 50;
	c->pop3_timeout = 600;
	c->pop3_max_connections = 10000;
	c->pop3_client_connection_limit = 1000;
	c->pop3_auth_fail_delay = 2;
	c->pop3_auth_fail_limit = 10;
	c->pop3_auth_fail_window = 900;
	c->pop3_plaintext_loopback = 1;
	c->auth_plaintext_loopback = 0;
	c->auth_cache_ttl = 300;
	c->smtpd_sender_login_match = 1;
	c->seccomp = 1;
	c->smtpd_auth_fail_delay = 2;
	c->smtpd_auth_fail_limit = 10;
	c->smtpd_auth_fail_window = 900;
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
		if (*p == '#' && (p == s || conf_is_space(p[-1]))) {
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
	key = conf_trim(buf, &kn);
	val = conf_trim(eq + 1, &vn);
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
	t = conf_trim(buf, &n);
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

			((char *)conf_field(c, k))[0] = '\0';
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
