/* Unit tests for lib/tls_policy.c: every name both ways, what is not a
 * policy (case, prefixes, "default", embedded NULs), the defaulting rule
 * and which policies forbid plaintext; and smtp_tls_policy /
 * smtp_tls_ca_file in mta.conf. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/tls_policy.h"

Test(tls_policy, names_round_trip)
{
	static const enum tls_policy all[] = { TLS_POLICY_NONE, TLS_POLICY_MAY,
	    TLS_POLICY_MUST, TLS_POLICY_VERIFY };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = tls_policy_name(all[i]);
		enum tls_policy p = TLS_POLICY_DEFAULT;

		cr_assert_lt(strlen(n), TLS_POLICY_NAME_MAX);
		cr_assert_eq(tls_policy_parse(n, strlen(n), &p), 0, "%s", n);
		cr_assert_eq(p, all[i]);
	}
	cr_assert_str_eq(tls_policy_name(TLS_POLICY_DEFAULT), "default");
	cr_assert_str_eq(tls_policy_name((enum tls_policy)99), "?");
}

Test(tls_policy, refuses_what_is_not_a_policy)
{
	static const char *const bad[] = { "", "default", "MAY", "Must", "mus",
	    "musts", "verify ", " may", "encrypt", "dane", "may\n" };
	enum tls_policy p = TLS_POLICY_MUST;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(tls_policy_parse(bad[i], strlen(bad[i]), &p),
		    -EINVAL, "accepted \"%s\"", bad[i]);
	cr_assert_eq(tls_policy_parse("may\0x", 5, &p), -EINVAL);
	/* n counts, not a NUL. */
	cr_assert_eq(tls_policy_parse("mayhem", 3, &p), 0);
	cr_assert_eq(p, TLS_POLICY_MAY);
}

Test(tls_policy, default_and_required)
{
	cr_assert_eq(tls_policy_effective(TLS_POLICY_DEFAULT, TLS_POLICY_MUST),
	    TLS_POLICY_MUST);
	cr_assert_eq(tls_policy_effective(TLS_POLICY_MAY, TLS_POLICY_VERIFY),
	    TLS_POLICY_MAY);
	cr_assert_eq(tls_policy_effective(TLS_POLICY_NONE, TLS_POLICY_MUST),
	    TLS_POLICY_NONE);
	cr_assert_eq(tls_policy_effective(TLS_POLICY_DEFAULT,
	    TLS_POLICY_DEFAULT), TLS_POLICY_MAY);
	cr_assert(!tls_policy_required(TLS_POLICY_DEFAULT));
	cr_assert(!tls_policy_required(TLS_POLICY_NONE));
	cr_assert(!tls_policy_required(TLS_POLICY_MAY));
	cr_assert(tls_policy_required(TLS_POLICY_MUST));
	cr_assert(tls_policy_required(TLS_POLICY_VERIFY));
}

static int load(struct conf *c, const char *text, char *err, size_t n)
{
	return conf_load_string(c, "t.conf", text, strlen(text), err, n);
}

Test(tls_policy, conf_keys)
{
	struct conf c;
	char err[CONF_ERR_MAX];

	conf_defaults(&c);
	cr_assert_eq(c.smtp_tls_policy, TLS_POLICY_MAY);
	cr_assert_str_eq(c.smtp_tls_ca_file, "");
	conf_free(&c);
	cr_assert_eq(load(&c, "smtp_tls_policy = verify\n"
	    "smtp_tls_ca_file = /etc/mta/ca.pem\n", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(c.smtp_tls_policy, TLS_POLICY_VERIFY);
	cr_assert_str_eq(c.smtp_tls_ca_file, "/etc/mta/ca.pem");
	conf_free(&c);
	cr_assert_eq(load(&c, "smtp_tls_policy = none\n", err, sizeof(err)), 0);
	cr_assert_eq(c.smtp_tls_policy, TLS_POLICY_NONE);
	conf_free(&c);
	cr_assert_lt(load(&c, "smtp_tls_policy = default\n", err, sizeof(err)),
	    0);
	cr_assert_str_eq(err, "t.conf:1: smtp_tls_policy: must be \"none\", "
	    "\"may\", \"must\" or \"verify\"");
	cr_assert_lt(load(&c, "smtp_tls_policy = Must\n", err, sizeof(err)), 0);
	cr_assert_lt(load(&c, "smtp_tls_policy =\n", err, sizeof(err)), 0);
}
