/* Unit tests for lib/conf.c (and lib/netaddr.c through it): the embedded
 * defaults, every key, list/size/duration syntax, every error path with
 * its "file:line: message", mynetworks matching and the lookup order of
 * conf_load.  Each Criterion test runs in its own process, so chdir and
 * setenv do not leak between tests. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/mem.h"

static struct conf cf;		/* large: keep it off the stack */
static char err[CONF_ERR_MAX];

static int load(const char *text)
{
	return conf_load_string(&cf, "t.conf", text, strlen(text), err,
	    sizeof(err));
}

static unsigned port_of(const struct conf_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

static const char *ip_of(const struct sockaddr_storage *ss)
{
	static char buf[INET6_ADDRSTRLEN];
	const void *a = ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	return inet_ntop(ss->ss_family, a, buf, sizeof(buf));
}

static void check_listen(const struct conf_listen *l, const char *ip,
    unsigned port)
{
	cr_assert_str_eq(ip_of(&l->addr), ip);
	cr_assert_eq(port_of(l), port);
}

Test(conf, defaults_match_the_interface_table)
{
	conf_defaults(&cf);
	cr_assert_str_eq(cf.path, "(defaults)");
	cr_assert(cf.hostname[0] != '\0');
	cr_assert_str_eq(cf.state_dir, "./var");
	cr_assert_eq(cf.n_smtp_listen, 1);
	check_listen(&cf.smtp_listen[0], "127.0.0.1", 2525);
	cr_assert_str_eq(cf.smtp_listen[0].text, "127.0.0.1:2525");
	check_listen(&cf.submission_listen[0], "127.0.0.1", 2587);
	check_listen(&cf.smtps_listen[0], "127.0.0.1", 2465);
	check_listen(&cf.pop3_listen[0], "127.0.0.1", 2110);
	check_listen(&cf.pop3s_listen[0], "127.0.0.1", 2995);
	cr_assert_eq(cf.n_local_domains, 1);
	cr_assert_str_eq(cf.local_domains[0], "localhost");
	cr_assert_eq(cf.n_mynetworks, 2);
	cr_assert_eq(cf.mynetworks[0].family, AF_INET);
	cr_assert_eq(cf.mynetworks[0].prefix, 8);
	cr_assert_eq(cf.mynetworks[1].family, AF_INET6);
	cr_assert_eq(cf.mynetworks[1].prefix, 128);
	cr_assert_eq(cf.relayhost.host[0], '\0');
	cr_assert_eq(cf.transport_file[0], '\0');
	cr_assert_eq(cf.n_dns_servers, 0);
	cr_assert_str_eq(cf.users_file, "./var/users");
	cr_assert_eq(cf.aliases_file[0], '\0');
	cr_assert_str_eq(cf.tls_cert_file, "./var/tls/cert.pem");
	cr_assert_str_eq(cf.tls_key_file, "./var/tls/key.pem");
	cr_assert_eq(cf.message_size_limit, 50ull * 1024 * 1024);
	cr_assert_eq(cf.max_recipients, 1000);
	cr_assert_eq(cf.retry_min, 300);
	cr_assert_eq(cf.retry_max, 4 * 3600);
	cr_assert_eq(cf.queue_lifetime, 5 * 86400);
	cr_assert_eq(cf.destination_concurrency, 20);
	cr_assert_eq(cf.smtpd_workers, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	cr_assert_eq(cf.remote_workers, cf.smtpd_workers);
	conf_free(&cf);
}

Test(conf, extension_defaults)
{
	conf_defaults(&cf);
	cr_assert_eq(cf.smtpd_timeout_command, 300);
	cr_assert_eq(cf.smtpd_timeout_data, 180);
	cr_assert_eq(cf.smtpd_timeout_idle, 300);
	cr_assert_eq(cf.smtpd_line_limit, 2048);
	cr_assert_eq(cf.smtpd_error_limit, 20);
	cr_assert_eq(cf.smtpd_max_connections, 20000);
	cr_assert_eq(cf.smtpd_client_connection_limit, 50);
	cr_assert_eq(cf.pop3_client_connection_limit, 1000);
	cr_assert_str_eq(cf.smtpd_bare_lf, "normalize");
	cr_assert_eq(cf.queue_checkpoint_ms, 1000);
	cr_assert_str_eq(cf.user_smtpd, "mta-smtpd");
	cr_assert_str_eq(cf.user_queue, "mta-queue");
	cr_assert_str_eq(cf.user_remote, "mta-remote");
	cr_assert_str_eq(cf.user_local, "mta-local");
	conf_free(&cf);
}

Test(conf, empty_text_gives_defaults_with_the_given_name)
{
	cr_assert_eq(load(""), 0, "%s", err);
	cr_assert_str_eq(cf.path, "t.conf");
	cr_assert_eq(err[0], '\0');
	cr_assert_eq(cf.max_recipients, 1000);
	conf_free(&cf);
}

static const char every_key[] =
    "# every key of INTERFACE.md and mta.conf(5)\n"
    "hostname = mx1.example.test\n"
    "state_dir = /srv/mta\n"
    "smtp_listen = 0.0.0.0:25, [::1]:26\n"
    "submission_listen = 127.0.0.2:587\n"
    "smtps_listen = 127.0.0.3:465\n"
    "pop3_listen = 127.0.0.4:110\n"
    "pop3s_listen = [::]:995\n"
    "local_domains = Example.TEST, mail.example.test\n"
    "mynetworks = 10.0.0.0/8, 192.168.1.7, 2001:db8::/32\n"
    "relayhost = [smart.example.test]:587\n"
    "transport_file = /etc/mta/transport\n"
    "dns_servers = 192.0.2.53, 192.0.2.54:5353, [2001:db8::53]:53\n"
    "users_file = /etc/mta/users\n"
    "aliases_file = /etc/mta/aliases\n"
    "tls_cert_file = /etc/mta/cert.pem\n"
    "tls_key_file = /etc/mta/key.pem\n"
    "message_size_limit = 10m\n"
    "max_recipients = 50\n"
    "retry_min = 1m\n"
    "retry_max = 2h\n"
    "queue_lifetime = 3d\n"
    "destination_concurrency = 7\n"
    "smtpd_workers = 3\n"
    "remote_workers = auto\n"
    "smtpd_timeout_command = 2m\n"
    "smtpd_timeout_data = 4m\n"
    "smtpd_timeout_idle = 30\n"
    "smtpd_line_limit = 1000\n"
    "smtpd_error_limit = 5\n"
    "smtpd_max_connections = 500\n"
    "smtpd_bare_lf = reject\n"
    "queue_checkpoint_ms = 250\n"
    "user_smtpd = s\n"
    "user_queue = q\n"
    "user_remote = r\n"
    "user_local = l\n";

Test(conf, every_key_is_parsed)
{
	cr_assert_eq(load(every_key), 0, "%s", err);
	cr_assert_str_eq(cf.hostname, "mx1.example.test");
	cr_assert_str_eq(cf.state_dir, "/srv/mta");
	cr_assert_eq(cf.n_smtp_listen, 2);
	check_listen(&cf.smtp_listen[0], "0.0.0.0", 25);
	check_listen(&cf.smtp_listen[1], "::1", 26);
	cr_assert_str_eq(cf.smtp_listen[1].text, "[::1]:26");
	check_listen(&cf.submission_listen[0], "127.0.0.2", 587);
	check_listen(&cf.smtps_listen[0], "127.0.0.3", 465);
	check_listen(&cf.pop3_listen[0], "127.0.0.4", 110);
	check_listen(&cf.pop3s_listen[0], "::", 995);
	cr_assert_eq(cf.n_local_domains, 2);
	cr_assert_str_eq(cf.local_domains[0], "example.test");
	cr_assert_str_eq(cf.local_domains[1], "mail.example.test");
	cr_assert_eq(cf.n_mynetworks, 3);
	cr_assert_eq(cf.mynetworks[1].prefix, 32);
	cr_assert_str_eq(cf.relayhost.host, "smart.example.test");
	cr_assert_eq(cf.relayhost.port, 587);
	cr_assert_eq(cf.relayhost.no_mx, 1);
	cr_assert_str_eq(cf.transport_file, "/etc/mta/transport");
	cr_assert_eq(cf.n_dns_servers, 3);
	cr_assert_str_eq(ip_of(&cf.dns_servers[0].addr), "192.0.2.53");
	cr_assert_eq(port_of(&cf.dns_servers[0]), 53);
	cr_assert_eq(port_of(&cf.dns_servers[1]), 5353);
	cr_assert_str_eq(ip_of(&cf.dns_servers[2].addr), "2001:db8::53");
	cr_assert_str_eq(cf.users_file, "/etc/mta/users");
	cr_assert_str_eq(cf.aliases_file, "/etc/mta/aliases");
	cr_assert_str_eq(cf.tls_cert_file, "/etc/mta/cert.pem");
	cr_assert_str_eq(cf.tls_key_file, "/etc/mta/key.pem");
	cr_assert_eq(cf.message_size_limit, 10ull << 20);
	cr_assert_eq(cf.max_recipients, 50);
	cr_assert_eq(cf.retry_min, 60);
	cr_assert_eq(cf.retry_max, 7200);
	cr_assert_eq(cf.queue_lifetime, 3 * 86400);
	cr_assert_eq(cf.destination_concurrency, 7);
	cr_assert_eq(cf.smtpd_workers, 3);
	cr_assert_eq(cf.remote_workers, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	cr_assert_eq(cf.smtpd_timeout_command, 120);
	cr_assert_eq(cf.smtpd_timeout_data, 240);
	cr_assert_eq(cf.smtpd_timeout_idle, 30);
	cr_assert_eq(cf.smtpd_line_limit, 1000);
	cr_assert_eq(cf.smtpd_error_limit, 5);
	cr_assert_eq(cf.smtpd_max_connections, 500);
	cr_assert_str_eq(cf.smtpd_bare_lf, "reject");
	cr_assert_eq(cf.queue_checkpoint_ms, 250);
	cr_assert_str_eq(cf.user_smtpd, "s");
	cr_assert_str_eq(cf.user_queue, "q");
	cr_assert_str_eq(cf.user_remote, "r");
	cr_assert_str_eq(cf.user_local, "l");
	conf_free(&cf);
}

Test(conf, comments_blank_lines_and_whitespace)
{
	cr_assert_eq(load("\n   \n# full line\n\t# indented comment\n"
	    "  max_recipients\t=\t7   # trailing comment\n"
	    "aliases_file = /a#b  # only the second # starts a comment\n"
	    "transport_file=/t\n"), 0, "%s", err);
	cr_assert_eq(cf.max_recipients, 7);
	cr_assert_str_eq(cf.aliases_file, "/a#b");
	cr_assert_str_eq(cf.transport_file, "/t");
	conf_free(&cf);
}

Test(conf, crlf_lines_and_byte_order_mark_are_accepted)
{
	cr_assert_eq(load("\xef\xbb\xbfmax_recipients = 9\r\nretry_min = 2m\r\n"),
	    0, "%s", err);
	cr_assert_eq(cf.max_recipients, 9);
	cr_assert_eq(cf.retry_min, 120);
	conf_free(&cf);
}

Test(conf, utf8_in_comments_and_domains_is_accepted)
{
	cr_assert_eq(load("# bücher\nlocal_domains = bücher.example\n"), 0,
	    "%s", err);
	cr_assert_str_eq(cf.local_domains[0], "bücher.example");
	conf_free(&cf);
}

Test(conf, last_line_without_newline)
{
	cr_assert_eq(load("max_recipients = 3"), 0, "%s", err);
	cr_assert_eq(cf.max_recipients, 3);
	conf_free(&cf);
}

Test(conf, empty_listen_value_disables_the_service)
{
	cr_assert_eq(load("smtp_listen =\nsubmission_listen =\n"
	    "smtps_listen = # off\npop3_listen=\npop3s_listen =   \n"), 0,
	    "%s", err);
	cr_assert_eq(cf.n_smtp_listen, 0);
	cr_assert_eq(cf.n_submission_listen, 0);
	cr_assert_eq(cf.n_smtps_listen, 0);
	cr_assert_eq(cf.n_pop3_listen, 0);
	cr_assert_eq(cf.n_pop3s_listen, 0);
	conf_free(&cf);
}

Test(conf, port_zero_and_65535_are_ordinary_ports)
{
	cr_assert_eq(load("smtp_listen = 127.0.0.1:0, 127.0.0.1:65535\n"), 0,
	    "%s", err);
	cr_assert_eq(cf.n_smtp_listen, 2);
	cr_assert_eq(port_of(&cf.smtp_listen[0]), 0);
	cr_assert_eq(port_of(&cf.smtp_listen[1]), 65535);
	conf_free(&cf);
}

Test(conf, listen_host_name_is_resolved)
{
	cr_assert_eq(load("smtp_listen = localhost:2600\n"), 0, "%s", err);
	cr_assert_geq(cf.n_smtp_listen, 1);
	for (size_t i = 0; i < cf.n_smtp_listen; i++) {
		cr_assert_eq(port_of(&cf.smtp_listen[i]), 2600);
		cr_assert_str_eq(cf.smtp_listen[i].text, "localhost:2600");
	}
	conf_free(&cf);
}

Test(conf, list_items_are_trimmed)
{
	cr_assert_eq(load("local_domains =a.test ,\tb.test,c.test  \n"
	    "mynetworks =  10.1.0.0/16 ,::1\n"), 0, "%s", err);
	cr_assert_eq(cf.n_local_domains, 3);
	cr_assert_str_eq(cf.local_domains[0], "a.test");
	cr_assert_str_eq(cf.local_domains[1], "b.test");
	cr_assert_str_eq(cf.local_domains[2], "c.test");
	cr_assert_eq(cf.n_mynetworks, 2);
	cr_assert_eq(cf.mynetworks[1].prefix, 128);
	conf_free(&cf);
}

Test(conf, empty_lists_are_allowed)
{
	cr_assert_eq(load("local_domains =\nmynetworks =\ndns_servers =\n"
	    "relayhost =\n"), 0, "%s", err);
	cr_assert_eq(cf.n_local_domains, 0);
	cr_assert_eq(cf.n_mynetworks, 0);
	cr_assert_eq(cf.n_dns_servers, 0);
	cr_assert_eq(cf.relayhost.host[0], '\0');
	conf_free(&cf);
}

Test(conf, sixty_four_list_entries_fit_and_sixty_five_do_not)
{
	char text[4096];
	size_t n = 0;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "mynetworks = ");
	for (int i = 0; i < CONF_LIST_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s10.0.%d.0/24",
		    i ? "," : "", i);
	cr_assert_eq(load(text), 0, "%s", err);
	cr_assert_eq(cf.n_mynetworks, CONF_LIST_MAX);
	conf_free(&cf);
	snprintf(text + n, sizeof(text) - n, ",10.1.0.0/24\n");
	cr_assert_eq(load(text), -1);
	cr_assert_str_eq(err, "t.conf:1: mynetworks: too many entries (max 64)");
}

Test(conf, users_file_follows_the_final_state_dir)
{
	cr_assert_eq(load("state_dir = /srv/x\n"), 0, "%s", err);
	cr_assert_str_eq(cf.users_file, "/srv/x/users");
	cr_assert_str_eq(cf.tls_cert_file, "/srv/x/tls/cert.pem");
	cr_assert_str_eq(cf.tls_key_file, "/srv/x/tls/key.pem");
	conf_free(&cf);
	cr_assert_eq(load("users_file = /u\nstate_dir = /srv/y\n"), 0, "%s",
	    err);
	cr_assert_str_eq(cf.users_file, "/u");
	cr_assert_str_eq(cf.tls_key_file, "/srv/y/tls/key.pem");
	conf_free(&cf);
	cr_assert_eq(load("users_file =\nstate_dir = rel\n"), 0, "%s", err);
	cr_assert_str_eq(cf.users_file, "rel/users");
	conf_free(&cf);
}

Test(conf, relayhost_forms)
{
	static const struct {
		const char *val, *host;
		unsigned port;
		int no_mx;
	} t[] = {
		{ "[smart.example]:2526", "smart.example", 2526, 1 },
		{ "[smart.example]", "smart.example", 25, 1 },
		{ "smart.example:587", "smart.example", 587, 0 },
		{ "smart.example", "smart.example", 25, 0 },
		{ "[127.0.0.1]:2526", "127.0.0.1", 2526, 1 },
		{ "[2001:db8::1]:25", "2001:db8::1", 25, 1 },
		{ "192.0.2.1", "192.0.2.1", 25, 0 },
	};
	char text[256];

	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		snprintf(text, sizeof(text), "relayhost = %s\n", t[i].val);
		cr_assert_eq(load(text), 0, "%s: %s", t[i].val, err);
		cr_assert_str_eq(cf.relayhost.host, t[i].host);
		cr_assert_eq(cf.relayhost.port, t[i].port, "%s", t[i].val);
		cr_assert_eq(cf.relayhost.no_mx, t[i].no_mx, "%s", t[i].val);
		conf_free(&cf);
	}
}

Test(conf, local_domain_lookup_ignores_case)
{
	cr_assert_eq(load("local_domains = Example.Test\n"), 0, "%s", err);
	cr_assert(conf_is_local_domain(&cf, "example.test"));
	cr_assert(conf_is_local_domain(&cf, "EXAMPLE.TEST"));
	cr_assert_not(conf_is_local_domain(&cf, "example.test.evil"));
	cr_assert_not(conf_is_local_domain(&cf, "localhost"));
	conf_free(&cf);
}

Test(conf, free_is_idempotent)
{
	cr_assert_eq(load("local_domains = a.test, b.test\n"), 0, "%s", err);
	conf_free(&cf);
	conf_free(&cf);
	cr_assert_eq(cf.n_local_domains, 0);
}

/* --- sizes and durations ------------------------------------------------- */

/* Parameters hold no pointers: Criterion runs each case in a re-executed
 * child whose load address differs, so pointers to literals would dangle. */
struct size_case {
	char text[32];
	int rc;
	uint64_t v;
};

ParameterizedTestParameters(conf, parse_size)
{
	static struct size_case t[] = {
		{ "0", 0, 0 }, { "1", 0, 1 }, { "1024", 0, 1024 },
		{ "1k", 0, 1024 }, { "1K", 0, 1024 }, { "50m", 0, 50ull << 20 },
		{ "2G", 0, 2ull << 30 }, { "007", 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -EINVAL, 0 },
		{ "17179869184g", -EINVAL, 0 },	/* 2^34 g overflows */
		{ "17179869183g", 0, 17179869183ull << 30 },
		{ "", -EINVAL, 0 }, { "k", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 }, { "1 k", -EINVAL, 0 }, { "1kb", -EINVAL, 0 },
		{ "1t", -EINVAL, 0 }, { "1.5m", -EINVAL, 0 }, { "0x10", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 }, { "1s", -EINVAL, 0 },
	};
	return cr_make_param_array(struct size_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct size_case *tc, conf, parse_size)
{
	uint64_t v = 12345;

	cr_assert_eq(conf_parse_size(tc->text, &v), tc->rc, "\"%s\"", tc->text);
	if (tc->rc == 0)
		cr_assert_eq(v, tc->v, "\"%s\"", tc->text);
}

struct dur_case {
	char text[32];
	int rc;
	unsigned v;
};

ParameterizedTestParameters(conf, parse_duration)
{
	static struct dur_case t[] = {
		{ "0", 0, 0 }, { "30", 0, 30 }, { "30s", 0, 30 }, { "5m", 0, 300 },
		{ "4h", 0, 14400 }, { "5d", 0, 432000 }, { "5D", 0, 432000 },
		{ "4294967295", 0, UINT_MAX }, { "4294967296", -EINVAL, 0 },
		{ "49711d", -EINVAL, 0 }, { "99999999999999999999", -EINVAL, 0 },
		{ "", -EINVAL, 0 }, { "m", -EINVAL, 0 }, { "5w", -EINVAL, 0 },
		{ "5ms", -EINVAL, 0 }, { "-5", -EINVAL, 0 }, { "1h30m", -EINVAL, 0 },
		{ "5 m", -EINVAL, 0 }, { "5k", -EINVAL, 0 },
	};
	return cr_make_param_array(struct dur_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct dur_case *tc, conf, parse_duration)
{
	unsigned v = 12345;

	cr_assert_eq(conf_parse_duration(tc->text, &v), tc->rc, "\"%s\"",
	    tc->text);
	if (tc->rc == 0)
		cr_assert_eq(v, tc->v, "\"%s\"", tc->text);
}

/* --- every error path: "file:line: message" ----------------------------- */

struct bad_case {
	char text[96];
	size_t len;		/* 0: strlen */
	char want[112];		/* the exact error */
};

ParameterizedTestParameters(conf, rejects_bad_input)
{
	static struct bad_case t[] = {
		{ "bogus = 1\n", 0, "t.conf:1: unknown key \"bogus\"" },
		{ "\n\nmax_recipients = 1\nmax_recipients = 2\n", 0,
		  "t.conf:4: duplicate key \"max_recipients\" (first set on line 3)" },
		{ "# c\nmax_recipients 5\n", 0,
		  "t.conf:2: missing '=' (expected \"key = value\")" },
		{ "= 5\n", 0, "t.conf:1: bad key \"\"" },
		{ "Max_Recipients = 5\n", 0, "t.conf:1: bad key \"Max_Recipients\"" },
		{ "max recipients = 5\n", 0, "t.conf:1: bad key \"max recipients\"" },
		{ "# a\nmax_recipients = 1\0\n", 24, "t.conf:2: NUL byte" },
		{ "max_recipients = 1\x01\n", 0, "t.conf:1: control character" },
		{ "max_recipients = 1\x7f\n", 0, "t.conf:1: control character" },
		{ "x = 1\rmax_recipients = 1\n", 0, "t.conf:1: control character" },
		{ "# \xff\n", 0, "t.conf:1: invalid UTF-8" },
		{ "# \xc0\xaf overlong\n", 0, "t.conf:1: invalid UTF-8" },
		{ "# \xed\xa0\x80 surrogate\n", 0, "t.conf:1: invalid UTF-8" },
		{ "# \xe2\x82 truncated\n", 0, "t.conf:1: invalid UTF-8" },
		{ "hostname = bad_name\n", 0,
		  "t.conf:1: hostname: bad host name \"bad_name\"" },
		{ "hostname =\n", 0, "t.conf:1: hostname: bad host name \"\"" },
		{ "hostname = [127.0.0.1]\n", 0,
		  "t.conf:1: hostname: bad host name \"[127.0.0.1]\"" },
		{ "state_dir =\n", 0, "t.conf:1: state_dir: must not be empty" },
		{ "smtp_listen = 127.0.0.1\n", 0,
		  "t.conf:1: smtp_listen: \"127.0.0.1\": missing :port" },
		{ "smtp_listen = 127.0.0.1:65536\n", 0,
		  "t.conf:1: smtp_listen: \"127.0.0.1:65536\": bad port (0..65535)" },
		{ "smtp_listen = 127.0.0.1:-1\n", 0,
		  "t.conf:1: smtp_listen: \"127.0.0.1:-1\": bad port (0..65535)" },
		{ "smtp_listen = 127.0.0.1:\n", 0,
		  "t.conf:1: smtp_listen: \"127.0.0.1:\": bad port (0..65535)" },
		{ "smtp_listen = [::1:25\n", 0,
		  "t.conf:1: smtp_listen: \"[::1:25\": unbalanced '['" },
		{ "smtp_listen = [::1]25\n", 0,
		  "t.conf:1: smtp_listen: \"[::1]25\": junk after ']'" },
		{ "smtp_listen = :25\n", 0,
		  "t.conf:1: smtp_listen: \":25\": empty host" },
		{ "smtp_listen = 127.0.0.1:25,\n", 0,
		  "t.conf:1: smtp_listen: empty list item" },
		{ "smtp_listen = ,127.0.0.1:25\n", 0,
		  "t.conf:1: smtp_listen: empty list item" },
		{ "local_domains = a..b\n", 0,
		  "t.conf:1: local_domains: bad domain \"a..b\"" },
		{ "local_domains = -a.b\n", 0,
		  "t.conf:1: local_domains: bad domain \"-a.b\"" },
		{ "mynetworks = 10.0.0.0/33\n", 0,
		  "t.conf:1: mynetworks: \"10.0.0.0/33\": bad prefix length" },
		{ "mynetworks = ::/129\n", 0,
		  "t.conf:1: mynetworks: \"::/129\": bad prefix length" },
		{ "mynetworks = 10.0.0.0/\n", 0,
		  "t.conf:1: mynetworks: \"10.0.0.0/\": bad prefix length" },
		{ "mynetworks = 10.0.0.1/8\n", 0,
		  "t.conf:1: mynetworks: \"10.0.0.1/8\": host bits set after the prefix" },
		{ "mynetworks = 10.0.0/8\n", 0,
		  "t.conf:1: mynetworks: \"10.0.0/8\": bad network address" },
		{ "mynetworks = example.com\n", 0,
		  "t.conf:1: mynetworks: \"example.com\": bad network address" },
		{ "relayhost = [x:25\n", 0,
		  "t.conf:1: relayhost: \"[x:25\": unbalanced '['" },
		{ "relayhost = bad_host:25\n", 0,
		  "t.conf:1: relayhost: \"bad_host:25\": bad host name" },
		{ "relayhost = host:0\n", 0,
		  "t.conf:1: relayhost: \"host:0\": bad port (1..65535)" },
		{ "relayhost = host:x\n", 0,
		  "t.conf:1: relayhost: \"host:x\": bad port (0..65535)" },
		{ "dns_servers = resolver.example\n", 0,
		  "t.conf:1: dns_servers: \"resolver.example\": not a numeric IP address" },
		{ "dns_servers = 192.0.2.1:0\n", 0,
		  "t.conf:1: dns_servers: \"192.0.2.1:0\": bad port (1..65535)" },
		{ "message_size_limit = 1023\n", 0,
		  "t.conf:1: message_size_limit: must be between 1024 and 18446744073709551615" },
		{ "message_size_limit = 50x\n", 0,
		  "t.conf:1: message_size_limit: bad size \"50x\" (number with k, m or g)" },
		{ "message_size_limit = 99999999999999999999\n", 0,
		  "t.conf:1: message_size_limit: size too large" },
		{ "message_size_limit = 99999999999g\n", 0,
		  "t.conf:1: message_size_limit: size too large" },
		{ "max_recipients = 0\n", 0,
		  "t.conf:1: max_recipients: must be between 1 and 1000000" },
		{ "max_recipients = 5k\n", 0,
		  "t.conf:1: max_recipients: bad number \"5k\"" },
		{ "max_recipients =\n", 0,
		  "t.conf:1: max_recipients: bad number \"\"" },
		{ "retry_min = 5x\n", 0,
		  "t.conf:1: retry_min: bad duration \"5x\" (number with s, m, h or d)" },
		{ "retry_min = 0\n", 0,
		  "t.conf:1: retry_min: must be between 1 and 31536000" },
		{ "queue_lifetime = 366d\n", 0,
		  "t.conf:1: queue_lifetime: must be between 0 and 31536000" },
		{ "destination_concurrency = 0\n", 0,
		  "t.conf:1: destination_concurrency: must be between 1 and 10000" },
		{ "smtpd_workers = 0\n", 0,
		  "t.conf:1: smtpd_workers: must be between 1 and 1024" },
		{ "remote_workers = Auto\n", 0,
		  "t.conf:1: remote_workers: bad number \"Auto\"" },
		{ "smtpd_timeout_data = 0\n", 0,
		  "t.conf:1: smtpd_timeout_data: must be between 1 and 86400" },
		{ "smtpd_line_limit = 511\n", 0,
		  "t.conf:1: smtpd_line_limit: must be between 512 and 1048576" },
		{ "smtpd_error_limit = 0\n", 0,
		  "t.conf:1: smtpd_error_limit: must be between 1 and 1000000" },
		{ "smtpd_max_connections = 0\n", 0,
		  "t.conf:1: smtpd_max_connections: must be between 1 and 10000000" },
		{ "smtpd_bare_lf = accept\n", 0,
		  "t.conf:1: smtpd_bare_lf: must be \"normalize\" or \"reject\"" },
		{ "queue_checkpoint_ms = 0\n", 0,
		  "t.conf:1: queue_checkpoint_ms: must be between 1 and 3600000" },
		{ "user_smtpd = -x\n", 0,
		  "t.conf:1: user_smtpd: bad user name \"-x\"" },
		{ "user_local = a b\n", 0,
		  "t.conf:1: user_local: bad user name \"a b\"" },
		{ "user_queue =\n", 0, "t.conf:1: user_queue: bad user name \"\"" },
		{ "retry_min = 2h\n# x\nretry_max = 1h\n", 0,
		  "t.conf:3: retry_min (7200s) is greater than retry_max (3600s)" },
		{ "retry_min = 5h\n", 0,
		  "t.conf:1: retry_min (18000s) is greater than retry_max (14400s)" },
	};
	return cr_make_param_array(struct bad_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct bad_case *tc, conf, rejects_bad_input)
{
	size_t len = tc->len ? tc->len : strlen(tc->text);

	cr_assert_eq(conf_load_string(&cf, "t.conf", tc->text, len, err,
	    sizeof(err)), -1, "accepted: %s", tc->text);
	cr_assert_str_eq(err, tc->want);
	/* Nothing is left to free after an error. */
	cr_assert_eq(cf.n_local_domains, 0);
}

Test(conf, over_long_line_is_rejected)
{
	size_t n = 8193 + 20;
	char *text = xmalloc(n + 1);

	memcpy(text, "max_recipients = 1\n", 19);
	memset(text + 19, '#', n - 19);
	text[n] = '\0';
	cr_assert_eq(load(text), -1);
	cr_assert_str_eq(err, "t.conf:2: line too long (max 8192 bytes)");
	/* Exactly 8192 bytes is fine. */
	text[19 + 8192] = '\n';
	cr_assert_eq(load(text), 0, "%s", err);
	conf_free(&cf);
	free(text);
}

Test(conf, long_path_value_is_rejected)
{
	char text[8192];
	int n = snprintf(text, sizeof(text), "state_dir = /");

	memset(text + n, 'a', 5000);
	text[n + 5000] = '\0';
	cr_assert_eq(load(text), -1);
	cr_assert_str_eq(err, "t.conf:1: state_dir: too long (max 4095 bytes)");
}

Test(conf, state_dir_too_long_for_derived_paths)
{
	char text[8192];
	int n = snprintf(text, sizeof(text), "\nstate_dir = /");

	memset(text + n, 'a', 4090);
	text[n + 4090] = '\0';
	cr_assert_eq(load(text), -1);
	cr_assert_str_eq(err,
	    "t.conf:2: state_dir: too long for the files under it");
}

Test(conf, error_message_is_truncated_safely)
{
	char small[12];

	cr_assert_eq(conf_load_string(&cf, "t.conf", "bogus = 1", 9, small,
	    sizeof(small)), -1);
	cr_assert_str_eq(small, "t.conf:1: u");
	cr_assert_eq(conf_load_string(&cf, "t.conf", "bogus = 1", 9, NULL, 0),
	    -1);
}

/* --- mynetworks ---------------------------------------------------------- */

static int in_nets(const char *ip)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return conf_in_mynetworks(&cf, (struct sockaddr *)&sin);
	}
	cr_assert_eq(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1, "%s", ip);
	sin6.sin6_family = AF_INET6;
	return conf_in_mynetworks(&cf, (struct sockaddr *)&sin6);
}

struct net_case {
	char ip[48];
	int in;
};

ParameterizedTestParameters(conf, mynetworks_match)
{
	static struct net_case t[] = {
		{ "10.0.0.1", 1 }, { "10.255.255.255", 1 }, { "11.0.0.0", 0 },
		{ "9.255.255.255", 0 }, { "192.168.1.7", 1 }, { "192.168.1.8", 0 },
		{ "172.16.0.1", 1 }, { "172.31.255.255", 1 }, { "172.32.0.0", 0 },
		{ "172.15.255.255", 0 }, { "198.51.100.129", 1 },
		{ "198.51.100.128", 0 },
		{ "::ffff:10.1.2.3", 1 }, { "::ffff:11.1.2.3", 0 },
		{ "::ffff:192.168.1.7", 1 }, { "::10.1.2.3", 0 },
		{ "2001:db8::1", 1 }, { "2001:db8:ffff::1", 1 },
		{ "2001:db9::1", 0 }, { "::1", 1 }, { "::2", 0 },
		{ "fe80::1", 1 }, { "fec0::1", 0 }, { "203.0.113.9", 1 },
		{ "::ffff:203.0.113.9", 1 }, { "203.0.113.10", 0 },
		{ "0.0.0.0", 0 },
	};
	return cr_make_param_array(struct net_case, t, ARRAY_LEN(t));
}

ParameterizedTest(struct net_case *tc, conf, mynetworks_match)
{
	cr_assert_eq(load("mynetworks = 10.0.0.0/8, 192.168.1.7, 172.16.0.0/12,"
	    " 198.51.100.129/32, 2001:db8::/32, ::1, [fe80::]/10,"
	    " ::ffff:203.0.113.9/128\n"), 0, "%s", err);
	cr_assert_eq(in_nets(tc->ip), tc->in, "%s", tc->ip);
	conf_free(&cf);
}

Test(conf, mapped_network_is_stored_as_ipv4)
{
	cr_assert_eq(load("mynetworks = ::ffff:10.0.0.0/104\n"), 0, "%s", err);
	cr_assert_eq(cf.mynetworks[0].family, AF_INET);
	cr_assert_eq(cf.mynetworks[0].prefix, 8);
	cr_assert(in_nets("10.9.9.9"));
	cr_assert(in_nets("::ffff:10.9.9.9"));
	cr_assert_not(in_nets("11.9.9.9"));
	conf_free(&cf);
}

Test(conf, zero_prefix_matches_everything_of_its_family)
{
	cr_assert_eq(load("mynetworks = 0.0.0.0/0\n"), 0, "%s", err);
	cr_assert(in_nets("1.2.3.4"));
	cr_assert(in_nets("::ffff:1.2.3.4"));
	cr_assert_not(in_nets("2001:db8::1"));
	conf_free(&cf);
}

Test(conf, default_mynetworks_cover_loopback_only)
{
	conf_defaults(&cf);
	cr_assert(in_nets("127.0.0.1"));
	cr_assert(in_nets("127.1.2.3"));
	cr_assert(in_nets("::1"));
	cr_assert(in_nets("::ffff:127.0.0.1"));
	cr_assert_not(in_nets("128.0.0.1"));
	cr_assert_not(in_nets("::2"));
	conf_free(&cf);
}

/* --- files and the lookup order ------------------------------------------ */

static char tmpdir[64];

static void enter_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_conf.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	cr_assert_eq(chdir(tmpdir), 0);
	unsetenv("MTA_CONF");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void leave_tmpdir(void)
{
	unlink("mta.conf");
	unlink("a.conf");
	unlink("b.conf");
	rmdir("dir.conf");
	cr_assert_eq(chdir("/"), 0);
	rmdir(tmpdir);
}

Test(conf, load_file_reports_errors_with_its_path)
{
	enter_tmpdir();
	write_file("a.conf", "max_recipients = 5\nnope = 1\n");
	cr_assert_eq(conf_load_file(&cf, "a.conf", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "a.conf:2: unknown key \"nope\"");
	write_file("a.conf", "max_recipients = 5\n");
	cr_assert_eq(conf_load_file(&cf, "a.conf", err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(cf.path, "a.conf");
	cr_assert_eq(cf.max_recipients, 5);
	conf_free(&cf);
	leave_tmpdir();
}

Test(conf, load_file_missing_or_not_regular)
{
	enter_tmpdir();
	cr_assert_eq(conf_load_file(&cf, "none.conf", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "none.conf: No such file or directory");
	cr_assert_eq(mkdir("dir.conf", 0700), 0);
	cr_assert_eq(conf_load_file(&cf, "dir.conf", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "dir.conf: not a regular file");
	leave_tmpdir();
}

Test(conf, load_file_too_large)
{
	FILE *f;

	enter_tmpdir();
	f = fopen("a.conf", "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 20000; i++)
		fputs("# a comment line of about sixty bytes, repeated ....\n", f);
	fclose(f);
	cr_assert_eq(conf_load_file(&cf, "a.conf", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "a.conf: file too large");
	leave_tmpdir();
}

Test(conf, load_order_path_then_env_then_cwd_then_defaults)
{
	enter_tmpdir();
	cr_assert_eq(conf_load(&cf, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cf.path, "(defaults)");
	conf_free(&cf);

	write_file("mta.conf", "max_recipients = 3\n");
	cr_assert_eq(conf_load(&cf, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cf.path, "mta.conf");
	cr_assert_eq(cf.max_recipients, 3);
	conf_free(&cf);

	write_file("b.conf", "max_recipients = 4\n");
	setenv("MTA_CONF", "b.conf", 1);
	cr_assert_eq(conf_load(&cf, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cf.path, "b.conf");
	cr_assert_eq(cf.max_recipients, 4);
	conf_free(&cf);

	write_file("a.conf", "max_recipients = 5\n");
	cr_assert_eq(conf_load(&cf, "a.conf", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cf.max_recipients, 5);
	conf_free(&cf);

	setenv("MTA_CONF", "missing.conf", 1);
	cr_assert_eq(conf_load(&cf, NULL, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "missing.conf: No such file or directory");
	leave_tmpdir();
}

Test(conf, smtpd_auth_keys)
{
	cr_assert_eq(load(""), 0, "%s", err);
	cr_assert_eq(cf.auth_plaintext_loopback, 0, "off by default");
	cr_assert_eq(cf.smtpd_sender_login_match, 1);
	cr_assert_eq(cf.smtpd_auth_fail_delay, 2);
	cr_assert_eq(cf.smtpd_auth_fail_limit, 10);
	cr_assert_eq(cf.smtpd_auth_fail_window, 900);
	cr_assert_eq(cf.auth_cache_ttl, 300);
	conf_free(&cf);
	cr_assert_eq(load("auth_plaintext_loopback = yes\n"
	    "smtpd_sender_login_match = no\nsmtpd_auth_fail_delay = 0\n"
	    "smtpd_auth_fail_limit = 3\nsmtpd_auth_fail_window = 1h\n"
	    "auth_cache_ttl = 0\n"), 0, "%s", err);
	cr_assert_eq(cf.auth_cache_ttl, 0, "0 turns the cache off");
	cr_assert_eq(cf.auth_plaintext_loopback, 1);
	cr_assert_eq(cf.smtpd_sender_login_match, 0);
	cr_assert_eq(cf.smtpd_auth_fail_delay, 0);
	cr_assert_eq(cf.smtpd_auth_fail_limit, 3);
	cr_assert_eq(cf.smtpd_auth_fail_window, 3600);
	conf_free(&cf);
	cr_assert_neq(load("auth_plaintext_loopback = 1\n"), 0);
	cr_assert_neq(load("smtpd_auth_fail_delay = 2m\n"), 0, "over 60 s");
	cr_assert_neq(load("smtpd_auth_fail_limit = 0\n"), 0);
	cr_assert_neq(load("auth_cache_ttl = 2d\n"), 0, "over a day");
	cr_assert_neq(load("auth_cache_ttl = -1\n"), 0);
}

Test(conf, seccomp_key)
{
	cr_assert_eq(load(""), 0, "%s", err);
	cr_assert_eq(cf.seccomp, 1, "on by default");
	conf_free(&cf);
	cr_assert_eq(load("seccomp = no\n"), 0, "%s", err);
	cr_assert_eq(cf.seccomp, 0);
	conf_free(&cf);
	cr_assert_neq(load("seccomp = off\n"), 0, "yes or no only");
}
