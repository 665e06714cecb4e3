/* smtpd_io: the SMTP session's view of its connection.  The I/O layer
 * itself (multishot recv into provided buffers, one batched send per loop
 * turn, the TLS layer hook, the close protocol) is lib/netio, shared with
 * pop3d and mta-sink; this adapts it to struct smtpd_io_ops so the state
 * machine never sees a socket. */
#ifndef SMTPD_IO_H
#define SMTPD_IO_H
#include "lib/netio.h"
#include "smtpd/smtpd.h"

/* The session's view of netio (ctx is the struct netio): plaintext only,
 * and with STARTTLS on smtpd_io_tls_ctx (the worker's server context). */
extern const struct smtpd_io_ops smtpd_io_session_ops;
extern const struct smtpd_io_ops smtpd_io_tls_ops;
extern void *smtpd_io_tls_ctx;
#endif
