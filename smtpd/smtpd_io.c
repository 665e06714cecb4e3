/* smtpd_io: struct smtpd_io_ops over lib/netio; see smtpd_io.h.  Pausing
 * here is the session's own reason (NETIO_PAUSE_PROTO); netio adds its
 * own when the client stops reading the replies. */
#include "smtpd/smtpd_io.h"
#include "lib/netio_tls.h"

void *smtpd_io_tls_ctx;

static void session_write(void *ctx, const char *p, size_t n)
{
	netio_write(ctx, p, n);
}

static void session_close(void *ctx)
{
	netio_close(ctx);
}

static void session_pause(void *ctx, int on)
{
	netio_pause(ctx, NETIO_PAUSE_PROTO, on);
}

const struct smtpd_io_ops smtpd_io_session_ops = {
	.write = session_write,
	.close = session_close,
	.pause = session_pause,
};

static int session_starttls(void *ctx)
{
	return netio_tls_server(ctx, smtpd_io_tls_ctx);
}

const struct smtpd_io_ops smtpd_io_tls_ops = {
	.write = session_write,
	.close = session_close,
	.pause = session_pause,
	.starttls = session_starttls,
};
