/* master_svc: the TCP services and their listening sockets.  One row per
 * service says which config key lists its addresses, which daemon serves
 * it and under which MTA_FDS role the daemon finds the sockets, so start,
 * reload and the fd layout (master_kind.c) all loop over this table. */
#include "master/master.h"
#include "lib/fds.h"

#include <stdio.h>

static const struct master_svc_row {
	const char *key, *role;
	enum master_kind kind;
	size_t list, count;	/* offsets in struct conf */
} master_svcs[MASTER_NSVC] = {
#define S(svc, name, r, k) [svc] = { #name, r, k, \
	offsetof(struct conf, name), offsetof(struct conf, n_##name) }
	S(MASTER_SVC_SMTP, smtp_listen, MTA_FD_ROLE_SMTP, MASTER_SMTPD),
	S(MASTER_SVC_SUBMISSION, submission_listen, MTA_FD_ROLE_SUBMISSION,
	    MASTER_SMTPD),
	S(MASTER_SVC_SMTPS, smtps_listen, MTA_FD_ROLE_SMTPS, MASTER_SMTPD),
	S(MASTER_SVC_POP3, pop3_listen, MTA_FD_ROLE_POP3, MASTER_POP3D),
	S(MASTER_SVC_POP3S, pop3s_listen, MTA_FD_ROLE_POP3S, MASTER_POP3D),
#undef S
};

const char *master_svc_key(enum master_svc s)
{
	return master_svcs[s].key;
}

const char *master_svc_role(enum master_svc s)
{
	return master_svcs[s].role;
}

enum master_kind master_svc_kind(enum master_svc s)
{
	return master_svcs[s].kind;
}

const struct conf_listen *master_svc_want(const struct conf *c,
    enum master_svc s, size_t *n)
{
	const char *base = (const char *)c;

	*n = *(const size_t *)(base + master_svcs[s].count);
	return (const struct conf_listen *)(base + master_svcs[s].list);
}

int master_svc_wanted(const struct conf *c, enum master_kind kind)
{
	size_t n;

	for (unsigned s = 0; s < MASTER_NSVC; s++)
		if (master_svcs[s].kind == kind &&
		    (master_svc_want(c, s, &n), n > 0))
			return 1;
	return 0;
}

int master_svc_open(struct master_listeners *out, const struct conf *c,
    const struct master_listeners *reuse, char *err, size_t errlen)
{
	unsigned s;
	size_t n;

	for (s = 0; s < MASTER_NSVC; s++) {
		const struct conf_listen *want = master_svc_want(c, s, &n);

		if (master_listeners_open(&out[s], want, n,
		    reuse ? &reuse[s] : NULL, err, errlen) < 0)
			break;
	}
	if (s == MASTER_NSVC)
		return 0;
	while (s-- > 0)
		master_listeners_close(&out[s], reuse ? &reuse[s] : NULL);
	return -1;
}

void master_svc_close(struct master_listeners *l,
    const struct master_listeners *keep)
{
	for (unsigned s = 0; s < MASTER_NSVC; s++)
		master_listeners_close(&l[s], keep ? &keep[s] : NULL);
}
