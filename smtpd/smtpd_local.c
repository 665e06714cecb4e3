/* smtpd_local: the local recipient check; see smtpd_local.h.  The tables
 * are lib/users and lib/aliases snapshots owned by the worker process;
 * refreshing costs one stat(2) per file and second at most, and a reload
 * is a blocking read of a small admin-owned file, done only when it
 * changed.  A table that never loaded is retried once a second, and each
 * distinct load error is logged once. */
#include "smtpd/smtpd_local.h"
#include "smtpd/smtpd_reply.h"
#include "lib/aliases.h"
#include "lib/log.h"
#include "lib/users.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int64_t local_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec;
}

/* A refresh result: log a new error once, and a reload. */
static void local_note(const char *what, int rc, const char *err,
    char *last, size_t lastlen, int loaded)
{
	if (rc < 0 && strcmp(err, last) != 0) {
		log_warn("%s: %s; %s", what, err, loaded ?
		    "previous version kept" :
		    "local recipients get 451 until it loads");
		snprintf(last, lastlen, "%s", err);
	} else if (rc == 1) {
		last[0] = '\0';
	}
}

void smtpd_local_refresh(struct smtpd_local *l)
{
	char err[512] = "";
	int rc;

	if (l->users != NULL || l->users_try != local_now()) {
		if (l->users == NULL)
			l->users_try = local_now();
		rc = users_refresh(&l->users, l->conf->users_file, err,
		    sizeof(err));
		local_note("users", rc, err, l->users_err,
		    sizeof(l->users_err), l->users != NULL);
	}
	if (l->aliases != NULL || l->aliases_try != local_now()) {
		if (l->aliases == NULL)
			l->aliases_try = local_now();
		rc = aliases_refresh(&l->aliases, l->conf->aliases_file, err,
		    sizeof(err));
		local_note("aliases", rc, err, l->aliases_err,
		    sizeof(l->aliases_err), l->aliases != NULL);
	}
}

void smtpd_local_init(struct smtpd_local *l, const struct conf *c)
{
	memset(l, 0, sizeof(*l));
	l->conf = c;
	l->users_try = l->aliases_try = -1;
	smtpd_local_refresh(l);
}

void smtpd_local_free(struct smtpd_local *l)
{
	users_free(l->users);
	aliases_free(l->aliases);
	l->users = NULL;
	l->aliases = NULL;
}

static int local_count(void *ctx, const char *target)
{
	(void)ctx;
	(void)target;
	return 0;
}

/* An alias: it must expand (no loop, not too many targets). */
static int local_alias(struct smtpd_local *l, const char *address,
    const char *client)
{
	int rc = aliases_expand(l->aliases, l->conf, address, local_count,
	    NULL);

	if (rc >= 0)
		return 0;
	log_warn("alias <%s> (RCPT from [%s]): %s", address, client,
	    rc == -ELOOP ? "alias loop or chain deeper than 10" :
	    rc == -E2BIG ? "expands to too many recipients" :
	    strerror(-rc));
	return SMTPD_R_LOCAL_CONFIG;
}

int smtpd_local_check(struct smtpd_local *l, const char *address,
    const char *client)
{
	const char *at = strrchr(address, '@');
	int postmaster = at != NULL && (size_t)(at - address) == 10 &&
	    strncasecmp(address, "postmaster", 10) == 0;

	smtpd_local_refresh(l);
	if (l->aliases != NULL && aliases_is_alias(l->aliases, address))
		return local_alias(l, address, client);
	if (postmaster)
		return 0;
	if (l->aliases == NULL || l->users == NULL) {
		log_warn("RCPT <%s> from [%s]: %s not loaded", address, client,
		    l->aliases == NULL ? "aliases_file" : "users_file");
		return SMTPD_R_LOCAL_CONFIG;
	}
	if (users_exists(l->users, address))
		return 0;
	return SMTPD_R_UNKNOWN_USER;
}
