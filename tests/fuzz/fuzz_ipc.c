/* libFuzzer target for the IPC record decoder (lib/ipc.c), the boundary
 * a less privileged peer talks across: decode records one after another
 * and walk every attribute, touching each byte so a read past a length
 * shows up under ASan.  Built and run by tests/fuzz/run. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static void walk(const struct ipc_msg *m)
{
	struct ipc_iter it;
	uint16_t tag;
	const char *val;
	uint32_t len;
	int rc;

	ipc_iter_init(&it, m);
	while ((rc = ipc_next(&it, &tag, &val, &len)) == 1)
		for (uint32_t i = 0; i < len; i++)
			sink += (unsigned char)val[i] + tag;
	if (rc != 0 && rc != -EPROTO)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ipc_msg m;
	long used;

	while ((used = ipc_decode(p, size, &m)) > 0) {
		if ((size_t)used > size || m.hdr.len > IPC_PAYLOAD_MAX ||
		    (size_t)used != IPC_HDR_LEN + m.hdr.len)
			abort();
		walk(&m);
		p += used;
		size -= (size_t)used;
	}
	if (used != 0 && used != -EPROTO)
		abort();
	return 0;
}
