/* Unit tests for smtpd/smtpd_policy.c: local domains accepted from
 * anyone but only as plain local@domain (no percent hack, bang path,
 * quoted '@' or '%', source route); any destination from mynetworks
 * (IPv4-mapped IPv6 peers count as IPv4); everything else 554 5.7.1. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/mem.h"
#include "smtpd/smtpd_cmd.h"
#include "smtpd/smtpd_policy.h"
#include "smtpd/smtpd_reply.h"

static struct conf conf;

static void setup(void)
{
	static const char text[] =
	    "local_domains = example.org, localhost\n"
	    "mynetworks = 10.0.0.0/8, 2001:db8::/32\n";
	char err[CONF_ERR_MAX];

	cr_assert_eq(conf_load_string(&conf, "test", text, strlen(text), err,
	    sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	conf_free(&conf);
}

struct rcpt_case {
	char arg[48];
	int outsider_ok;	/* from outside mynetworks */
};

ParameterizedTestParameters(smtpd_policy, relay_rules)
{
	static struct rcpt_case t[] = {
		{ "TO:<user@example.org>", 1 },
		{ "TO:<User@EXAMPLE.ORG>", 1 },
		{ "TO:<user@localhost>", 1 },
		{ "TO:<\"plain\"@example.org>", 1 },
		{ "TO:<first.last@example.org>", 1 },
		{ "TO:<Postmaster>", 1 },
		{ "TO:<user@other.example>", 0 },
		{ "TO:<user@example.org.evil>", 0 },
		{ "TO:<user@sub.example.org>", 0 },
		{ "TO:<user@[127.0.0.1]>", 0 },
		{ "TO:<b%c@example.org>", 0 },
		{ "TO:<c!b@example.org>", 0 },
		{ "TO:<\"b@c\"@example.org>", 0 },
		{ "TO:<\"b%c\"@example.org>", 0 },
		{ "TO:<@relay.example:u@example.org>", 0 },
		{ "TO:<@a.example,@b.example:u@example.org>", 0 },
	};
	return cr_make_param_array(struct rcpt_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct rcpt_case *tc, smtpd_policy, relay_rules,
    .init = setup, .fini = teardown)
{
	struct smtpd_rcpt r;

	cr_assert_eq(smtpd_cmd_rcpt(tc->arg, strlen(tc->arg), 0, &r), 0,
	    "%s", tc->arg);
	cr_assert_eq(smtpd_policy_rcpt(&conf, 0, &r),
	    tc->outsider_ok ? 0 : SMTPD_R_RELAY, "%s from outside", tc->arg);
	cr_assert_eq(smtpd_policy_rcpt(&conf, 1, &r), 0, "%s from mynetworks",
	    tc->arg);
}

static int trusted4(const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	cr_assert_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return smtpd_policy_trusted(&conf, (struct sockaddr *)&sin);
}

static int trusted6(const char *ip)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	cr_assert_eq(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return smtpd_policy_trusted(&conf, (struct sockaddr *)&sin6);
}

Test(smtpd_policy, mynetworks_membership, .init = setup, .fini = teardown)
{
	cr_assert(trusted4("10.1.2.3"));
	cr_assert(trusted4("10.255.255.255"));
	cr_assert(!trusted4("11.0.0.1"));
	cr_assert(!trusted4("127.0.0.1"), "loopback is not in this list");
	cr_assert(trusted6("::ffff:10.1.2.3"), "IPv4-mapped counts as IPv4");
	cr_assert(!trusted6("::ffff:192.0.2.1"));
	cr_assert(trusted6("2001:db8::1"));
	cr_assert(!trusted6("2001:db9::1"));
}

Test(smtpd_policy, routed_local_parts)
{
	cr_assert(smtpd_policy_routed_local("a%b"));
	cr_assert(smtpd_policy_routed_local("a!b"));
	cr_assert(smtpd_policy_routed_local("\"a@b\""));
	cr_assert(!smtpd_policy_routed_local("a.b"));
	cr_assert(!smtpd_policy_routed_local("\"a b\""));
}
