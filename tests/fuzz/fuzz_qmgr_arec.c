/* libFuzzer target for the queue manager's validation of agent records
 * (queue/qmgr_arec.c), the boundary an untrusted delivery agent talks
 * across: decode records one after another and validate each; whatever
 * is accepted must be self-consistent.  Built and run by tests/fuzz/run. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipc.h"
#include "queue/qmgr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct qm_arec r;
	struct ipc_msg m;
	long used;

	while ((used = ipc_decode(p, size, &m)) > 0) {
		if (qm_arec_parse(&m, &r) == NULL) {
			if (strlen(r.text) > QM_TEXT_MAX ||
			    strlen(r.relay) > QM_RELAY_MAX ||
			    strchr(r.text, '\n') || strchr(r.relay, '\r'))
				abort();
			if (r.type == IPC_AG_RCPT && (r.dsn[0] !=
			    "245"[r.cls] || strlen(r.dsn) < 5))
				abort();
			if (r.type == IPC_AG_HELLO && (r.slots == 0 ||
			    r.slots > QM_AGENT_SLOTS_MAX))
				abort();
		}
		p += used;
		size -= (size_t)used;
	}
	return 0;
}
