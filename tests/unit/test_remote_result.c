/* Unit tests for deliver/remote_result.c and remote_hop.c: the reply ->
 * class/status-code table (the enhanced code of the reply when it agrees
 * with the class, else derived), delay, and NEXTHOP parsing incl. IPv6
 * literals and hostile values. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "deliver/remote_hop.h"
#include "deliver/remote_result.h"
#include "lib/mem.h"

struct map_case {
	char reply[48];
	int cls;
	char dsn[16];
};

ParameterizedTestParameters(remote_result, maps_replies)
{
	static struct map_case t[] = {
		{ "250 ok", AGENT_SENT, "2.0.0" },
		{ "250 2.1.5 ok", AGENT_SENT, "2.1.5" },
		{ "251 2.1.5 forwarded", AGENT_SENT, "2.1.5" },
		{ "250 5.1.1 odd", AGENT_SENT, "2.0.0" },
		{ "451 4.3.0 try later", AGENT_DEFERRED, "4.3.0" },
		{ "451 later", AGENT_DEFERRED, "4.0.0" },
		{ "421 4.4.2 closing", AGENT_DEFERRED, "4.4.2" },
		{ "452 5.2.2 mismatch", AGENT_DEFERRED, "4.0.0" },
		{ "550 5.1.1 no such user", AGENT_BOUNCED, "5.1.1" },
		{ "554 no", AGENT_BOUNCED, "5.0.0" },
		{ "552 5.3.4 too big", AGENT_BOUNCED, "5.3.4" },
		{ "550 5.123.456 x", AGENT_BOUNCED, "5.123.456" },
		{ "354 go ahead", AGENT_DEFERRED, "4.0.0" },
	};
	return cr_make_param_array(struct map_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct map_case *tc, remote_result, maps_replies)
{
	struct remote_rparse rp;
	char dsn[REMOTE_DSN_MAX], line[64];
	size_t used;

	memset(&rp, 0, sizeof(rp));
	remote_reply_init(&rp);
	snprintf(line, sizeof(line), "%s\r\n", tc->reply);
	cr_assert_eq(remote_reply_feed(&rp, line, strlen(line), &used), 1);
	cr_assert_eq((int)remote_class_of(rp.r.code), tc->cls, "%s", tc->reply);
	remote_dsn_of(&rp.r, dsn);
	cr_assert_str_eq(dsn, tc->dsn, "%s", tc->reply);
}

Test(remote_result, class_names_and_delay)
{
	cr_assert_str_eq(agent_class_name(AGENT_SENT), "sent");
	cr_assert_str_eq(agent_class_name(AGENT_DEFERRED), "deferred");
	cr_assert_str_eq(agent_class_name(AGENT_BOUNCED), "bounced");
	cr_assert_float_eq(agent_delay(1000000, 3500000), 2.5, 1e-9);
	cr_assert_float_eq(agent_delay(5000000, 1000000), 0.0, 1e-9);
}

struct hop_case {
	char in[80];
	int ok;
	int kind;
	char name[48];
	unsigned port;
};

ParameterizedTestParameters(remote_hop, parses)
{
	static struct hop_case t[] = {
		{ "mx:example.net", 1, REMOTE_HOP_MX, "example.net", 25 },
		{ "host:relay.example:587", 1, REMOTE_HOP_HOST, "relay.example", 587 },
		{ "addr:127.0.0.1:2526", 1, REMOTE_HOP_ADDR, "127.0.0.1", 2526 },
		{ "addr:[::1]:2526", 1, REMOTE_HOP_ADDR, "::1", 2526 },
		{ "addr:::1:2526", 1, REMOTE_HOP_ADDR, "::1", 2526 },
		{ "addr:[2001:db8::1]:25", 1, REMOTE_HOP_ADDR, "2001:db8::1", 25 },
		{ "host:mx.example:65535", 1, REMOTE_HOP_HOST, "mx.example", 65535 },
		{ "local", 0, 0, "", 0 },
		{ "mx:", 0, 0, "", 0 },
		{ "mx:a:b", 0, 0, "", 0 },
		{ "mx:exa mple.net", 0, 0, "", 0 },
		{ "mx:exa\nmple.net", 0, 0, "", 0 },
		{ "host:relay.example", 0, 0, "", 0 },
		{ "host:relay.example:", 0, 0, "", 0 },
		{ "host:relay.example:0", 0, 0, "", 0 },
		{ "host:relay.example:65536", 0, 0, "", 0 },
		{ "host:relay.example:025", 0, 0, "", 0 },
		{ "host:relay.example:+25", 0, 0, "", 0 },
		{ "host::25", 0, 0, "", 0 },
		{ "addr:[]:25", 0, 0, "", 0 },
		{ "smtp:x:25", 0, 0, "", 0 },
		{ "MX:example.net", 0, 0, "", 0 },
	};
	return cr_make_param_array(struct hop_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct hop_case *tc, remote_hop, parses)
{
	struct remote_hop h;
	const char *why = NULL;
	int rc = remote_hop_parse(tc->in, strlen(tc->in), &h, &why);

	if (!tc->ok) {
		cr_assert_lt(rc, 0, "%s", tc->in);
		cr_assert_not_null(why);
		return;
	}
	cr_assert_eq(rc, 0, "%s: %s", tc->in, why);
	cr_assert_eq((int)h.kind, tc->kind);
	cr_assert_str_eq(h.name, tc->name);
	cr_assert_eq(h.port, tc->port);
}

Test(remote_hop, overlong_name_is_refused)
{
	char in[400];
	struct remote_hop h;
	const char *why;

	memcpy(in, "mx:", 3);
	memset(in + 3, 'a', 300);
	in[303] = '\0';
	cr_assert_lt(remote_hop_parse(in, strlen(in), &h, &why), 0);
	memset(in + 3, 'a', 255);
	in[258] = '\0';
	cr_assert_eq(remote_hop_parse(in, strlen(in), &h, &why), 0);
}

/* The ";tls=POLICY" suffix of a transport_file entry's next hop. */
Test(remote_hop, tls_policy_suffix)
{
	struct remote_hop h;
	const char *why;
	static const char *const bad[] = {
		"addr:127.0.0.1:25;tls=", "addr:127.0.0.1:25;tls=default",
		"addr:127.0.0.1:25;tls=MUST", "addr:127.0.0.1:25;tls=must;",
		"addr:127.0.0.1:25;tls=must;tls=may", "addr:127.0.0.1:25;",
		"addr:127.0.0.1:25;x=must", "addr:127.0.0.1;tls=must:25",
		";tls=must", "local;tls=must",
	};

	cr_assert_eq(remote_hop_parse("addr:127.0.0.1:2526;tls=verify", 30, &h,
	    &why), 0, "%s", why);
	cr_assert_eq(h.kind, REMOTE_HOP_ADDR);
	cr_assert_str_eq(h.name, "127.0.0.1");
	cr_assert_eq(h.port, 2526);
	cr_assert_eq(h.tls, TLS_POLICY_VERIFY);
	cr_assert_eq(remote_hop_parse("host:[::1]:25;tls=must", 22, &h, &why),
	    0);
	cr_assert_str_eq(h.name, "::1");
	cr_assert_eq(h.tls, TLS_POLICY_MUST);
	cr_assert_eq(remote_hop_parse("mx:example.net;tls=none", 23, &h, &why),
	    0);
	cr_assert_eq(h.kind, REMOTE_HOP_MX);
	cr_assert_eq(h.tls, TLS_POLICY_NONE);
	cr_assert_eq(remote_hop_parse("mx:example.net", 14, &h, &why), 0);
	cr_assert_eq(h.tls, TLS_POLICY_DEFAULT);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		cr_assert_lt(remote_hop_parse(bad[i], strlen(bad[i]), &h, &why),
		    0, "accepted %s", bad[i]);
	/* The length given is the length parsed: nothing after it counts. */
	cr_assert_eq(remote_hop_parse("mx:example.net;tls=bogus", 14, &h, &why),
	    0);
	cr_assert_eq(h.tls, TLS_POLICY_DEFAULT);
}
