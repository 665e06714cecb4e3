/* conf: the mta.conf parser.  Every key of INTERFACE.md is parsed and
 * validated here, once, for every program.  Errors are "file:line: message";
 * callers print them and exit 2.  Lookup order: -c FILE, $MTA_CONF,
 * ./mta.conf if present, else the embedded defaults. */
#ifndef LIB_CONF_H
#define LIB_CONF_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONF_ERR_MAX 512
#define CONF_LIST_MAX 64	/* entries per list key */

/* One "host:port" listener (IPv4, [IPv6] or hostname resolved at parse). */
struct conf_listen {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[280];		/* as written, for logs */
};

/* One CIDR network of mynetworks. */
struct conf_net {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* A next hop: "[host]:port" (no MX lookup) or "host:port" (MX lookup). */
struct conf_hop {
	char host[256];		/* empty: not set */
	unsigned port;
	int no_mx;		/* written in brackets */
};

struct conf {
	char path[4096];	/* file read, or "(defaults)" */
	char hostname[256];
	char state_dir[4096];
	struct conf_listen smtp_listen[CONF_LIST_MAX];
	size_t n_smtp_listen;
	struct conf_listen submission_listen[CONF_LIST_MAX];
	size_t n_submission_listen;
	struct conf_listen smtps_listen[CONF_LIST_MAX];
	size_t n_smtps_listen;
	struct conf_listen pop3_listen[CONF_LIST_MAX];
	size_t n_pop3_listen;
	struct conf_listen pop3s_listen[CONF_LIST_MAX];
	size_t n_pop3s_listen;
	char *local_domains[CONF_LIST_MAX];	/* lower-cased */
	size_t n_local_domains;
	struct conf_net mynetworks[CONF_LIST_MAX];
	size_t n_mynetworks;
	struct conf_hop relayhost;
	char transport_file[4096];	/* empty: none */
	struct conf_listen dns_servers[CONF_LIST_MAX];	/* ip[:port], default 53 */
	size_t n_dns_servers;		/* 0: use /etc/resolv.conf */
	char users_file[4096];		/* default $state_dir/users */
	char aliases_file[4096];
	char tls_cert_file[4096];	/* default $state_dir/tls/cert.pem */
	char tls_key_file[4096];	/* default $state_dir/tls/key.pem */
	uint64_t message_size_limit;	/* bytes */
	unsigned max_recipients;
	unsigned retry_min, retry_max, queue_lifetime;	/* seconds */
	unsigned destination_concurrency;
	unsigned smtpd_workers;		/* resolved: "auto" = CPU count */
	unsigned remote_workers;
	/* Extensions (documented in mta.conf(5)). */
	unsigned smtpd_timeout_command;	/* s; RFC 5321 4.5.3.2: 5 min */
	unsigned smtpd_timeout_data;	/* s; per data block: 3 min */
	unsigned smtpd_timeout_idle;	/* s; before the first command: 5 min */
	unsigned smtpd_line_limit;	/* bytes of a command line, CRLF incl. */
	unsigned smtpd_error_limit;	/* errors before the session is closed */
	unsigned smtpd_max_connections;	/* all workers together */
	unsigned smtpd_client_connection_limit;	/* per address; 0: none */
	char smtpd_bare_lf[16];		/* "normalize" (default) or "reject" */
	unsigned queue_checkpoint_ms;	/* journal checkpoint interval */
	unsigned delay_warning_time;	/* s; 0: no delay DSN */
	unsigned qmgr_active_limit;	/* messages in qmgr's memory at most */
	unsigned smtp_connection_reuse_limit;	/* messages per connection */
	unsigned smtp_connection_idle;	/* s an idle client connection is kept */
	unsigned smtp_rcpt_limit;	/* recipients per outbound transaction */
	unsigned smtp_connect_timeout;	/* s */
	unsigned smtp_command_timeout;	/* s; greeting..RCPT replies: 5 min */
	unsigned smtp_data_timeout;	/* s; per data block (DATA: <= 2 min) */
	unsigned smtp_dot_timeout;	/* s; reply to the final dot: 10 min */
	char smtp_helo_name[256];	/* empty: hostname */
	int smtp_tls_policy;		/* enum tls_policy (lib/tls_policy.h) */
	char smtp_tls_ca_file[4096];	/* empty: the system trust store */
	char user_smtpd[64], user_queue[64], user_remote[64], user_local[64];
	char group_auth[64];		/* may read users_file (smtpd, queue,
					 * local, pop3d); remote never */
	uint64_t mailbox_quota;		/* bytes per Maildir; 0: none */
	char mailbox_quota_action[16];	/* "defer" (default) or "bounce" */
	unsigned local_concurrency;	/* deliveries in flight, local agent */
	unsigned pop3_timeout;		/* s; RFC 1939 autologout: >= 10 min */
	unsigned pop3_max_connections;	/* per pop3d process */
	unsigned pop3_client_connection_limit;	/* per address; 0: none */
	unsigned pop3_auth_fail_delay;	/* s before a failed login's -ERR */
	unsigned pop3_auth_fail_limit;	/* failures per client address ... */
	unsigned pop3_auth_fail_window;	/* s; ... then refused this long */
	int pop3_plaintext_loopback;	/* logins without TLS from loopback */
	int auth_plaintext_loopback;	/* smtpd AUTH without TLS from loopback */
	unsigned auth_cache_ttl;	/* s a verified login skips the hash */
	int smtpd_sender_login_match;	/* MAIL FROM must be the user's own */
	int seccomp;			/* smtpd/pop3d syscall allow-list */
	unsigned smtpd_auth_fail_delay;	/* s before a failed AUTH's 535 */
	unsigned smtpd_auth_fail_limit;	/* failures per client address ... */
	unsigned smtpd_auth_fail_window;	/* s; ... then 421 this long */
};

/* Fill c with the embedded defaults (c is overwritten, not freed: call
 * conf_free first when reusing a loaded conf). */
void conf_defaults(struct conf *c);
/* Parse the file at path into c (defaults first).  0, or -1 with a
 * "file:line: message" in err; on error c holds nothing to free. */
int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);
/* Parse text[0..len) (NULs are errors, not terminators) as if read from
 * the file "name": name is both the prefix of error messages
 * ("name:line: message") and what c->path is set to. */
int conf_load_string(struct conf *c, const char *name, const char *text,
    size_t len, char *err, size_t errlen);
/* The lookup order of INTERFACE.md; path may be NULL. */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* A daemon's command line, "[-c FILE]" only: load the config it names
 * (conf_load).  A bad command line prints usage, a config error
 * "file:line: message" (after "prefix: " unless prefix is NULL); both then
 * exit 2. */
void conf_load_args(struct conf *c, int argc, char **argv, const char *usage,
    const char *prefix);
/* Release heap parts (local_domains). */
void conf_free(struct conf *c);
/* 1 if domain (any case) is one of local_domains. */
int conf_is_local_domain(const struct conf *c, const char *domain);
/* 1 if the address is inside mynetworks. */
int conf_in_mynetworks(const struct conf *c, const struct sockaddr *sa);
/* Parse a size "50m" into bytes; -EINVAL on junk or overflow. */
int conf_parse_size(const char *s, uint64_t *out);
/* Parse a duration "5m" into seconds (bare number: seconds). */
int conf_parse_duration(const char *s, unsigned *out);
#endif
