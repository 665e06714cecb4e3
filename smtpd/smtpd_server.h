/* smtpd_server: one mta-smtpd worker process.  Owns the ring, the
 * provided-buffer ring, the listeners (multishot accept), the pool of
 * connections, the periodic timer that sweeps deadlines, the signalfd
 * (SIGTERM/SIGINT: stop accepting, let transactions in progress finish
 * for a grace period, then 421 4.3.2 and exit 0) and the queue-writer
 * client.  Wiring lives in smtpd_main.c; everything here is on the ring. */
#ifndef SMTPD_SERVER_H
#define SMTPD_SERVER_H
#include <stddef.h>

#include "lib/conf.h"
#include "lib/netsrv.h"

#define SMTPD_RING_ENTRIES 4096
#define SMTPD_RECV_BUFS 512		/* provided buffers (power of 2) */
#define SMTPD_RECV_BUFSZ (16 * 1024)
#define SMTPD_TICK_MS 1000		/* deadline sweep period */
#define SMTPD_STOP_GRACE_MS 10000	/* SIGTERM: transactions may finish */
#define SMTPD_REFUSE_TLS_MS 10000	/* smtps over a limit: handshake time */
#define SMTPD_LISTEN_MAX 64

/* Serve on the listening sockets (tags: enum smtpd_port) until SIGTERM;
 * returns the exit status. */
int smtpd_server_run(const struct conf *c, const struct netsrv_listen *ls,
    size_t nls);
#endif
