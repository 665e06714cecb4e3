/* authfail: failed logins per client address (pop3d's logins, smtpd's
 * AUTH).  More than `limit` failures within `window` seconds of an
 * address's first one and further logins from it are refused at once
 * until that window has passed.  The table is bounded: when full, the
 * entry used least recently goes.  Pure logic (time is passed in), owned
 * by one event loop: each process counts its own clients. */
#ifndef LIB_AUTHFAIL_H
#define LIB_AUTHFAIL_H
#include <stddef.h>
#include <stdint.h>

#define AUTHFAIL_SLOTS 4096
#define AUTHFAIL_IP_MAX 48

struct authfail_ent {
	char ip[AUTHFAIL_IP_MAX];
	unsigned count;
	uint64_t first, last;		/* s */
};

struct authfail {
	struct authfail_ent *v;
	size_t n, cap;
	unsigned limit, window;
};

/* Empty table of at most cap entries. */
void authfail_init(struct authfail *t, size_t cap, unsigned limit,
    unsigned window);
void authfail_free(struct authfail *t);
/* 1 if logins from ip are refused at time now (s). */
int authfail_blocked(struct authfail *t, const char *ip, uint64_t now);
/* Count one failed login from ip at now. */
void authfail_record(struct authfail *t, const char *ip, uint64_t now);
#endif
