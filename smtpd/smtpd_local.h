/* smtpd_local: does a recipient in local_domains exist?  Accepted are
 * accounts of users_file (users_exists), aliases of aliases_file and the
 * local part "postmaster" in every local domain (RFC 5321 4.5.1); anyone
 * else gets 550 5.1.1.  An alias that loops or expands to too many
 * recipients, or a table that cannot be read, gets 451 4.3.0 (a local
 * configuration error: the client retries once it is fixed).  Both files
 * are re-checked at most once a second and reloaded when they change. */
#ifndef SMTPD_LOCAL_H
#define SMTPD_LOCAL_H
#include <stdint.h>

#include "lib/conf.h"

struct users;
struct aliases;

struct smtpd_local {
	const struct conf *conf;
	struct users *users;		/* NULL: not loaded (451) */
	struct aliases *aliases;	/* NULL: not loaded (451) */
	int64_t users_try, aliases_try;	/* second of the last failed load */
	char users_err[512], aliases_err[512];	/* last error logged */
};

/* Load both tables (errors are logged; the tables are retried later). */
void smtpd_local_init(struct smtpd_local *l, const struct conf *c);
void smtpd_local_free(struct smtpd_local *l);
/* Reload the tables if their files changed (cheap: rate-limited). */
void smtpd_local_refresh(struct smtpd_local *l);
/* 0 if address (local@domain, domain in local_domains) may receive mail,
 * else a reply id: SMTPD_R_UNKNOWN_USER or SMTPD_R_LOCAL_CONFIG, with the
 * reason logged.  client is the client's IP text, for the log. */
int smtpd_local_check(struct smtpd_local *l, const char *address,
    const char *client);
#endif
