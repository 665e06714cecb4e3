/* netsrv: the skeleton every TCP server process on the ring shares
 * (mta-smtpd, mta-pop3d): the ring, the provided-buffer ring and netio's
 * flush in before_sleep, the listeners (one accept at a time, so that
 * workers sharing a socket take turns; paused on EMFILE & co and
 * re-armed from the owner's tick), the stop signals, and
 * the list of live connections (ev_stop once stopping and none is left).
 * The owner embeds struct netsrv and a struct netsrv_node per connection. */
#ifndef LIB_NETSRV_H
#define LIB_NETSRV_H
#include <stddef.h>

#include "lib/ev.h"
#include "lib/netio.h"

#define NETSRV_LISTEN_MAX 64

struct netsrv;
/* A new connection's socket and its listener's tag. */
typedef void (*netsrv_accept_fn)(struct netsrv *s, int fd, int tag);
typedef void (*netsrv_hook_fn)(struct netsrv *s);

/* A listening socket and what it serves (the owner's tag: smtp,
 * submission, smtps...). */
struct netsrv_listen {
	int fd, tag;
};

/* One kind of listener: its role in MTA_FDS, the config list a manual
 * run (no master) binds instead, and the owner's tag. */
struct netsrv_role {
	const char *role;
	const struct conf_listen *v;
	size_t n;
	int tag;
};

struct netsrv_listener {
	struct ev_op op;
	struct netsrv *srv;
	int fd, tag, armed;
};

/* Embedded in each connection; recover it with container_of. */
struct netsrv_node {
	struct netsrv_node *prev, *next;
};

struct netsrv {
	struct ev_loop loop;
	struct ev_bufring br;
	struct netio_sys ios;
	struct ev_signal sig;
	struct netsrv_listener ls[NETSRV_LISTEN_MAX];
	size_t nls;
	struct netsrv_node *conns;
	unsigned nconns;
	int stopping, accept_paused;
	netsrv_accept_fn accept;	/* a new connection's socket */
	netsrv_hook_fn stop;		/* SIGTERM or SIGINT (again: again) */
	netsrv_hook_fn before_sleep;	/* after netio's flush; may be NULL */
	const struct ev_allow *ring_allow;	/* NULL: unrestricted ring */
};

/* Set the callbacks first.  Ring, buffer ring, signalfd (before any
 * thread starts) and armed listeners; fatal on error (start-up only). */
void netsrv_setup(struct netsrv *s, unsigned entries, unsigned nbufs,
    unsigned bufsz, const struct netsrv_listen *ls, size_t nls);
/* The listening sockets of every role, inherited from the master
 * (MTA_FDS) or, when started by hand, bound here; fatal on error or when
 * there are none.  Returns how many were put in out. */
size_t netsrv_listeners(const struct netsrv_role *roles, size_t nroles,
    struct netsrv_listen *out, size_t max);
/* Stop accepting: every listener is cancelled or closed; sets stopping.
 * Returns 1 the first time, 0 after. */
int netsrv_stop_accepting(struct netsrv *s);
/* Re-arm listeners paused by a lack of descriptors or memory (call it
 * from the owner's periodic tick). */
void netsrv_resume_accepting(struct netsrv *s);
/* Link a new connection. */
void netsrv_conn_add(struct netsrv *s, struct netsrv_node *n);
/* Unlink a finished connection; once stopping and none is left, the
 * loop stops. */
void netsrv_conn_del(struct netsrv *s, struct netsrv_node *n);
#endif
