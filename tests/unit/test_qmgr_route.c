/* Unit tests for queue/qmgr_route.c: the next hop of a recipient
 * (transport_file first, then local_domains, then relayhost, then MX of
 * the lower-cased domain; address literals), the agent kind of a next
 * hop, and the grouping of a message's recipients into jobs of one next
 * hop and at most smtp_rcpt_limit recipients. */
#include <criterion/criterion.h>

#include <string.h>

#include "lib/conf.h"
#include "lib/mem.h"
#include "lib/transport.h"
#include "queue/qmgr.h"

static struct conf cf;
static char err[CONF_ERR_MAX];

static void load(const char *text)
{
	cr_assert_eq(conf_load_string(&cf, "t.conf", text, strlen(text), err,
	    sizeof(err)), 0, "%s", err);
}

static const char *route(const struct transport *t, const char *addr)
{
	static char out[QM_NEXTHOP_MAX];

	if (qm_route(&cf, t, addr, out, sizeof(out)) < 0)
		return "(error)";
	return out;
}

Test(qmgr_route, mx_local_and_literals)
{
	load("local_domains = example.test, Other.Test\n");
	cr_assert_str_eq(route(NULL, "bob@Remote.EXAMPLE"), "mx:remote.example");
	cr_assert_str_eq(route(NULL, "bob@example.test"), "local");
	cr_assert_str_eq(route(NULL, "bob@OTHER.test"), "local");
	cr_assert_str_eq(route(NULL, "bob@sub.example.test"),
	    "mx:sub.example.test");
	cr_assert_str_eq(route(NULL, "\"a@b\"@x.example"), "mx:x.example");
	cr_assert_str_eq(route(NULL, "bob@[192.0.2.1]"), "addr:192.0.2.1:25");
	cr_assert_str_eq(route(NULL, "bob@[IPv6:2001:db8::1]"),
	    "addr:2001:db8::1:25");
	cr_assert_str_eq(route(NULL, "postmaster"), "(error)");
	cr_assert_str_eq(route(NULL, "bob@"), "(error)");
	cr_assert_str_eq(route(NULL, "bob@[]"), "(error)");
	cr_assert_str_eq(route(NULL, "bob@[1.2.3.4"), "(error)");
	conf_free(&cf);
}

Test(qmgr_route, relayhost_with_and_without_brackets)
{
	load("relayhost = [smart.example]:2525\n");
	cr_assert_str_eq(route(NULL, "bob@remote.example"),
	    "addr:smart.example:2525");
	cr_assert_str_eq(route(NULL, "bob@localhost"), "local");
	conf_free(&cf);
	load("relayhost = smart.example\n");
	cr_assert_str_eq(route(NULL, "bob@remote.example"),
	    "host:smart.example:25");
	conf_free(&cf);
}

Test(qmgr_route, transport_file_wins)
{
	struct transport t = { 0 };
	static const char tp[] = "remote.example [10.0.0.1]:26\n"
	    "localhost [10.0.0.2]\n.sub.example local\n";

	cr_assert_eq(transport_parse(&t, "tp", tp, strlen(tp), err,
	    sizeof(err)), 0, "%s", err);
	load("relayhost = [smart.example]:2525\n");
	cr_assert_str_eq(route(&t, "bob@REMOTE.example"), "addr:10.0.0.1:26");
	cr_assert_str_eq(route(&t, "bob@localhost"), "addr:10.0.0.2:25");
	cr_assert_str_eq(route(&t, "bob@a.sub.example"), "local");
	cr_assert_str_eq(route(&t, "bob@other.example"),
	    "addr:smart.example:2525");
	transport_free(&t);
	conf_free(&cf);
}

Test(qmgr_route, kind_of_a_next_hop)
{
	cr_assert_eq(qm_route_kind("local"), QM_KIND_LOCAL);
	cr_assert_eq(qm_route_kind("mx:local"), QM_KIND_REMOTE);
	cr_assert_eq(qm_route_kind("addr:1.2.3.4:25"), QM_KIND_REMOTE);
}

Test(qmgr_route, groups_by_hop_in_order_of_first_appearance)
{
	const char *hops[] = { "mx:b", "mx:a", "mx:b", "local", "mx:a",
	    "mx:b", "mx:b", "mx:b" };
	uint32_t order[8];
	unsigned sizes[8];
	size_t n = qm_group(hops, 8, 2, order, sizes);
	static const uint32_t want_order[] = { 0, 2, 5, 6, 7, 1, 4, 3 };
	static const unsigned want_sizes[] = { 2, 2, 1, 2, 1 };

	cr_assert_eq(n, 5);
	cr_assert_arr_eq(order, want_order, sizeof(want_order));
	cr_assert_arr_eq(sizes, want_sizes, sizeof(want_sizes));
	n = qm_group(hops, 8, 100, order, sizes);
	cr_assert_eq(n, 3);
	cr_assert_eq(sizes[0], 5);
	cr_assert_eq(sizes[1], 2);
	cr_assert_eq(sizes[2], 1);
	cr_assert_eq(qm_group(hops, 0, 2, order, sizes), 0);
	n = qm_group(hops, 8, 0, order, sizes);	/* limit 0 acts as 1 */
	cr_assert_eq(n, 8);
}

Test(qmgr_route, many_recipients_one_hop)
{
	enum { N = 10000 };
	const char **hops = xcalloc(N, sizeof(*hops));
	uint32_t *order = xcalloc(N, sizeof(*order));
	unsigned *sizes = xcalloc(N, sizeof(*sizes));
	size_t n, at = 0;

	for (size_t i = 0; i < N; i++)
		hops[i] = i % 3 ? "mx:x" : "mx:y";
	n = qm_group(hops, N, 100, order, sizes);
	for (size_t j = 0; j < n; j++) {
		cr_assert(sizes[j] >= 1 && sizes[j] <= 100);
		for (unsigned k = 1; k < sizes[j]; k++) {
			cr_assert_str_eq(hops[order[at + k]],
			    hops[order[at]]);
			cr_assert(order[at + k] > order[at + k - 1]);
		}
		at += sizes[j];
	}
	cr_assert_eq(at, N);
	free(hops);
	free(order);
	free(sizes);
}
