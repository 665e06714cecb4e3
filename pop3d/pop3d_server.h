/* pop3d_server: one mta-pop3d process on the ring: listeners (multishot
 * accept), connections, the once-a-second tick (idle autologout, stuck
 * closes), the signalfd (SIGTERM: stop accepting, close sessions without
 * UPDATE -- nothing is deleted -- and exit 0) and the helper threads. */
#ifndef POP3D_SERVER_H
#define POP3D_SERVER_H
#include <stddef.h>

#include "lib/conf.h"
#include "lib/netsrv.h"

#define POP3D_RING_ENTRIES 4096
#define POP3D_RECV_BUFS 256		/* provided buffers (power of 2) */
#define POP3D_RECV_BUFSZ (16 * 1024)
#define POP3D_TICK_MS 1000
#define POP3D_STOP_GRACE_MS 5000

/* Serve on the listening sockets (tags: enum pop3d_port) until SIGTERM;
 * returns the exit status. */
int pop3d_server_run(const struct conf *c, const struct netsrv_listen *ls,
    size_t nls);
#endif
