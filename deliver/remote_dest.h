/* remote_dest: destinations (the NEXTHOP string of a job is the key) and
 * their idle connections, kept for smtp_connection_idle seconds so the
 * next job for the same destination skips DNS, connect, greeting and EHLO.
 * A destination lives while it has sessions; the queue manager, not this
 * table, bounds how many run at once. */
#ifndef DELIVER_REMOTE_DEST_H
#define DELIVER_REMOTE_DEST_H
#include <stddef.h>

#include "deliver/remote.h"

struct remote_dest {
	char *key;			/* NEXTHOP */
	struct remote_dest *hnext;	/* hash chain */
	size_t nsess;			/* sessions, idle or busy */
	struct remote_session *idle;	/* most recently idle first */
	size_t nidle;
};

/* Allocate the table. */
void remote_dest_init(struct remote *rm);
/* The destination of key, created if new. */
struct remote_dest *remote_dest_get(struct remote *rm, const char *key);
/* A session joins / leaves d; d is freed when its last one leaves. */
void remote_dest_attach(struct remote_dest *d);
void remote_dest_detach(struct remote *rm, struct remote_dest *d);
/* Park an idle session / take the most recent one (NULL if none) /
 * remove a parked one that is closing. */
void remote_dest_put_idle(struct remote_dest *d, struct remote_session *s);
struct remote_session *remote_dest_take_idle(struct remote_dest *d);
void remote_dest_unpark(struct remote_dest *d, struct remote_session *s);
/* Free the (empty) table. */
void remote_dest_exit(struct remote *rm);
#endif
