/* netio_tls: the TLS layer; see netio_tls.h. */
#include "lib/netio_tls.h"
#include "lib/log.h"
#include "lib/tls.h"

#include <errno.h>
#include <stdio.h>

static int tls_decode(struct netio *io, const char *p, size_t n,
    struct buf *wire)
{
	struct tls *t = io->layer_state;
	struct buf plain;
	int rc;

	buf_init(&plain, 0);
	rc = tls_input(t, p, n, &plain, wire);
	if (rc == 1 && io->cb->secured != NULL)
		io->cb->secured(io);
	if (plain.len > 0 && !io->closing && !io->shut)
		io->cb->input(io, plain.data, plain.len);
	buf_free(&plain);
	return rc < 0 ? rc : 0;
}

static int tls_encode(struct netio *io, const char *p, size_t n,
    struct buf *wire)
{
	return tls_write(io->layer_state, p, n, wire);
}

static void tls_layer_close(struct netio *io, struct buf *wire)
{
	tls_close(io->layer_state, wire);
}

static void tls_layer_free(struct netio *io)
{
	tls_free(io->layer_state);
	io->layer_state = NULL;
}

static const struct netio_layer netio_tls_layer = {
	.decode = tls_decode,
	.encode = tls_encode,
	.close = tls_layer_close,
	.free = tls_layer_free,
};

int netio_tls_server(struct netio *io, void *ctx)
{
	struct tls *t = ctx != NULL ? tls_new(ctx, 1, NULL) : NULL;

	if (t == NULL)
		return -1;
	io->layer_state = t;
	io->layer = &netio_tls_layer;
	return 0;
}

int netio_tls_implicit(struct netio *io, void *ctx, const char *ip)
{
	if (netio_tls_server(io, ctx) == 0)
		return 0;
	log_warn("implicit-TLS connection from [%s]: TLS not available", ip);
	netio_abort(io);
	return -1;
}

static int tls_on(const struct netio *io)
{
	return io->layer == &netio_tls_layer;
}

void netio_tls_log_up(const struct netio *io, const char *ip)
{
	char how[128];

	tls_describe(io->layer_state, how, sizeof(how));
	log_info("TLS with [%s]: %s%s", ip, how,
	    tls_resumed(io->layer_state) ? " (resumed)" : "");
}

void netio_tls_log_failure(const struct netio *io, int err, const char *ip)
{
	if (err == -EPROTO && tls_on(io))
		log_info("TLS failed with [%s]: %s", ip,
		    tls_why(io->layer_state));
}
