/* netsrv: the shared server skeleton; see netsrv.h.  Accept errors that
 * mean "no descriptor or memory right now" pause accepting instead of
 * spinning; the owner's tick resumes it.  A listener whose accept ends
 * while stopping is closed then.  A connection that accept brought in
 * the race with its cancellation (on a reload the new workers share the
 * socket) is still handed to the owner, which answers it with its
 * shutdown reply instead of a reset; so the loop stops only once no
 * listener is armed and no connection is left. */
#include "lib/netsrv.h"
#include "lib/fds.h"
#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_accept(struct ev_op *op, int res, unsigned flags);

static void maybe_stop(struct netsrv *s)
{
	if (!s->stopping || s->nconns > 0)
		return;
	for (size_t i = 0; i < s->nls; i++)
		if (s->ls[i].armed)
			return;		/* its cancellation is on the way */
	ev_stop(&s->loop);
}

static void arm_accept(struct netsrv_listener *l)
{
	if (l->armed || l->fd < 0 || l->srv->stopping ||
	    l->srv->accept_paused)
		return;
	l->op.fn = on_accept;
	ev_accept_one(&l->srv->loop, &l->op, l->fd);
	l->armed = 1;
}

static void on_accept(struct ev_op *op, int res, unsigned flags)
{
	struct netsrv_listener *l = container_of(op, struct netsrv_listener,
	    op);
	struct netsrv *s = l->srv;

	if (!(flags & IORING_CQE_F_MORE))
		l->armed = 0;
	if (res >= 0) {
		s->accept(s, res, l->tag);	/* refused politely if stopping */
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOMEM ||
	    res == -ENOBUFS) {
		if (!s->accept_paused)
			log_warn("accept: %s; pausing", strerror(-res));
		s->accept_paused = 1;	/* the tick re-arms */
	} else if (res != -ECANCELED && res != -EINTR &&
	    res != -ECONNABORTED) {
		log_warn("accept: %s", strerror(-res));
	}
	if (s->stopping && !l->armed && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	arm_accept(l);
	maybe_stop(s);
}

static void on_signal(struct ev_op *op, int res, unsigned flags)
{
	struct netsrv *s = container_of(op, struct netsrv, sig.op);

	(void)flags;
	if (res == (int)sizeof(s->sig.si) && (s->sig.si.ssi_signo == SIGTERM ||
	    s->sig.si.ssi_signo == SIGINT))
		s->stop(s);
	else if (res < 0 && res != -EINTR && res != -EAGAIN)
		fatalx("signalfd read: %s", strerror(-res));
	ev_signal_read(&s->loop, &s->sig);
}

static void before_sleep(struct ev_loop *loop, void *arg)
{
	struct netsrv *s = arg;

	(void)loop;
	netio_flush_all(&s->ios);
	if (s->before_sleep != NULL)
		s->before_sleep(s);
}

void netsrv_setup(struct netsrv *s, unsigned entries, unsigned nbufs,
    unsigned bufsz, const struct netsrv_listen *ls, size_t nls)
{
	int rc;

	if ((rc = ev_signal_open(&s->sig, on_signal)) < 0)
		fatalx("signalfd: %s", strerror(-rc));
	rc = s->ring_allow != NULL ? ev_init_restricted(&s->loop, entries,
	    s->ring_allow) : ev_init(&s->loop, entries);
	if (rc < 0)
		fatalx("io_uring setup: %s", strerror(-rc));
	if ((rc = ev_bufring_setup(&s->loop, &s->br, 0, nbufs, bufsz)) < 0)
		fatalx("provided buffer ring: %s", strerror(-rc));
	s->ios.loop = &s->loop;
	s->ios.br = &s->br;
	if (nls > NETSRV_LISTEN_MAX)
		fatalx("too many listening sockets (%zu)", nls);
	for (size_t i = 0; i < nls; i++) {
		s->ls[i].srv = s;
		s->ls[i].fd = ls[i].fd;
		s->ls[i].tag = ls[i].tag;
		arm_accept(&s->ls[i]);
	}
	s->nls = nls;
	ev_signal_read(&s->loop, &s->sig);
	s->loop.before_sleep = before_sleep;
	s->loop.before_sleep_arg = s;
}

int netsrv_stop_accepting(struct netsrv *s)
{
	if (s->stopping)
		return 0;
	s->stopping = 1;
	for (size_t i = 0; i < s->nls; i++) {
		if (s->ls[i].armed) {
			ev_cancel_op(&s->loop, &s->ls[i].op);
		} else if (s->ls[i].fd >= 0) {
			close(s->ls[i].fd);
			s->ls[i].fd = -1;
		}
	}
	maybe_stop(s);
	return 1;
}

void netsrv_resume_accepting(struct netsrv *s)
{
	if (!s->accept_paused)
		return;
	s->accept_paused = 0;
	for (size_t i = 0; i < s->nls; i++)
		arm_accept(&s->ls[i]);
}

void netsrv_conn_add(struct netsrv *s, struct netsrv_node *n)
{
	n->prev = NULL;
	n->next = s->conns;
	if (n->next != NULL)
		n->next->prev = n;
	s->conns = n;
	s->nconns++;
}

void netsrv_conn_del(struct netsrv *s, struct netsrv_node *n)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		s->conns = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	s->nconns--;
	maybe_stop(s);
}

size_t netsrv_listeners(const struct netsrv_role *roles, size_t nroles,
    struct netsrv_listen *out, size_t max)
{
	int inherited = getenv(MTA_FDS_ENV) != NULL;
	int fds[NETSRV_LISTEN_MAX];
	size_t total = 0;

	for (size_t r = 0; r < nroles && total < max; r++) {
		const struct netsrv_role *ro = &roles[r];
		size_t room = max - total < NETSRV_LISTEN_MAX ?
		    max - total : NETSRV_LISTEN_MAX;
		int n;

		if (inherited)
			n = fds_get(ro->role, fds, (int)room);
		else
			n = (int)netio_bind_all(ro->v, ro->n, fds, room);
		if (n < 0)
			fatalx("malformed %s", MTA_FDS_ENV);
		for (int i = 0; i < n; i++) {
			out[total].fd = fds[i];
			out[total++].tag = ro->tag;
		}
	}
	if (total == 0)
		fatalx("no listening socket (every %s listen key is empty)",
		    roles[0].role);
	return total;
}
