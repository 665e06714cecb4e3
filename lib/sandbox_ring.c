/* sandbox_ring: the io_uring opcodes of mta-smtpd's and mta-pop3d's rings
 * (see sandbox.h).  Read off lib/ev.c's helpers as lib/netsrv, lib/netio,
 * lib/workq and the daemons call them: multishot accept, multishot recv
 * from provided buffers (IOSQE_BUFFER_SELECT), send, read (signalfd,
 * workq's eventfd, pop3d's message files), timeouts, cancels; smtpd also
 * connects to the queue writer.  No openat, close, rename or unlink: the
 * rings never touch the filesystem by path. */
#include "lib/sandbox.h"
#include "lib/ev.h"
#include "lib/mem.h"

static const unsigned char smtpd_ops[] = {
	IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_READ,
	IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL, IORING_OP_CONNECT,
};

static const unsigned char pop3d_ops[] = {
	IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_READ,
	IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL,
};

static const struct ev_allow sandbox_rings[] = {
	[SANDBOX_SMTPD] = { smtpd_ops, ARRAY_LEN(smtpd_ops),
	    IOSQE_BUFFER_SELECT },
	[SANDBOX_POP3D] = { pop3d_ops, ARRAY_LEN(pop3d_ops),
	    IOSQE_BUFFER_SELECT },
};

const struct ev_allow *sandbox_ring(enum sandbox_kind kind)
{
	return &sandbox_rings[kind];
}
