/* remote_dest: the destination table and idle-connection cache; see
 * remote_dest.h.  Chained hash on the NEXTHOP string (FNV-1a).  Idle
 * sessions form a doubly linked list per destination, most recent first,
 * so the connection least likely to have been dropped is reused. */
#include "deliver/remote_dest.h"
#include "deliver/remote_session.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <string.h>

static size_t bucket(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (REMOTE_DEST_BUCKETS - 1);
}

void remote_dest_init(struct remote *rm)
{
	rm->dests = xcalloc(REMOTE_DEST_BUCKETS, sizeof(*rm->dests));
}

void remote_dest_exit(struct remote *rm)
{
	free(rm->dests);
	rm->dests = NULL;
}

struct remote_dest *remote_dest_get(struct remote *rm, const char *key)
{
	size_t b = bucket(key);
	struct remote_dest *d;

	for (d = rm->dests[b]; d != NULL; d = d->hnext)
		if (strcmp(d->key, key) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->key = xstrdup(key);
	d->hnext = rm->dests[b];
	rm->dests[b] = d;
	return d;
}

void remote_dest_attach(struct remote_dest *d)
{
	d->nsess++;
}

void remote_dest_detach(struct remote *rm, struct remote_dest *d)
{
	struct remote_dest **pp;

	if (d->nsess == 0)
		panic("remote_dest_detach: no session");
	if (--d->nsess > 0)
		return;
	for (pp = &rm->dests[bucket(d->key)]; *pp != d; pp = &(*pp)->hnext)
		;
	*pp = d->hnext;
	free(d->key);
	free(d);
}

void remote_dest_put_idle(struct remote_dest *d, struct remote_session *s)
{
	if (s->parked)
		return;
	s->parked = 1;
	s->iprev = NULL;
	s->inext = d->idle;
	if (d->idle != NULL)
		d->idle->iprev = s;
	d->idle = s;
	d->nidle++;
}

void remote_dest_unpark(struct remote_dest *d, struct remote_session *s)
{
	if (!s->parked)
		return;
	s->parked = 0;
	if (s->iprev != NULL)
		s->iprev->inext = s->inext;
	else
		d->idle = s->inext;
	if (s->inext != NULL)
		s->inext->iprev = s->iprev;
	s->inext = s->iprev = NULL;
	d->nidle--;
}

struct remote_session *remote_dest_take_idle(struct remote_dest *d)
{
	struct remote_session *s = d->idle;

	if (s != NULL)
		remote_dest_unpark(d, s);
	return s;
}
