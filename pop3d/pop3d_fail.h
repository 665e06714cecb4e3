/* pop3d_fail: failed logins per client address.  More than `limit`
 * failures within `window` seconds of an address's first one and further
 * logins from it are refused at once until that window has passed.  The
 * table is bounded: when full, the entry used least recently goes.  Pure
 * logic (time is passed in), owned by the event loop. */
#ifndef POP3D_FAIL_H
#define POP3D_FAIL_H
#include <stddef.h>
#include <stdint.h>

#define POP3D_FAIL_SLOTS 4096
#define POP3D_FAIL_IP_MAX 48

struct pop3d_fail_ent {
	char ip[POP3D_FAIL_IP_MAX];
	unsigned count;
	uint64_t first, last;		/* s */
};

struct pop3d_fail {
	struct pop3d_fail_ent *v;
	size_t n, cap;
	unsigned limit, window;
};

/* Empty table of at most cap entries. */
void pop3d_fail_init(struct pop3d_fail *t, size_t cap, unsigned limit,
    unsigned window);
void pop3d_fail_free(struct pop3d_fail *t);
/* 1 if logins from ip are refused at time now (s). */
int pop3d_fail_blocked(struct pop3d_fail *t, const char *ip, uint64_t now);
/* Count one failed login from ip at now. */
void pop3d_fail_record(struct pop3d_fail *t, const char *ip, uint64_t now);
#endif
