/* conf_value: one parser per kind of mta.conf value -- numbers, sizes,
 * durations, strings, user names, listeners, domains, networks, next
 * hops -- each checking its key's range and writing the field of struct
 * conf the key table (conf.c) names.  Errors are plain messages; conf.c
 * adds "file:line: ". */
#include "lib/conf_int.h"
#include "lib/addr.h"
#include "lib/mem.h"
#include "lib/netaddr.h"
#include "lib/tls_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void *conf_field(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

int conf_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trim spaces and tabs around s[0..*n) in place; returns the new start. */
char *conf_trim(char *s, size_t *n)
{
	while (*n > 0 && conf_is_space(*s)) {
		s++;
		(*n)--;
	}
	while (*n > 0 && conf_is_space(s[*n - 1]))
		(*n)--;
	s[*n] = '\0';
	return s;
}


/* --- numbers, sizes, durations ----------------------------------------- */

/* Digits with an optional one-letter unit from units (lower case) whose
 * multipliers are in mult.  -EINVAL on junk, -ERANGE on overflow. */
static int parse_scaled(const char *s, const char *units,
    const uint64_t *mult, uint64_t *out)
{
	uint64_t v = 0, m = 1;
	size_t i = 0;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return -ERANGE;
	if (s[i] != '\0') {
		const char *u = strchr(units, s[i] | 0x20);

		if (s[i + 1] != '\0' || u == NULL || *u == '\0')
			return -EINVAL;
		m = mult[u - units];
	}
	if (__builtin_mul_overflow(v, m, &v))
		return -ERANGE;
	*out = v;
	return 0;
}

static const uint64_t size_mult[] = { 1024, 1024 * 1024,
	1024 * 1024 * 1024 };
static const uint64_t duration_mult[] = { 1, 60, 3600, 86400 };

int conf_parse_size(const char *s, uint64_t *out)
{
	return parse_scaled(s, "kmg", size_mult, out) < 0 ? -EINVAL : 0;
}

int conf_parse_duration(const char *s, unsigned *out)
{
	uint64_t v;

	if (parse_scaled(s, "smhd", duration_mult, &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int range_msg(const struct conf_key *k, uint64_t v, char *msg,
    size_t msglen)
{
	if (v >= k->min && v <= k->max)
		return 0;
	snprintf(msg, msglen, "must be between %llu and %llu",
	    (unsigned long long)k->min, (unsigned long long)k->max);
	return -1;
}

/* How one kind of number is written. */
struct conf_units {
	const char *what, *letters, *hint;
	const uint64_t *mult;
};

static const struct conf_units units_plain = { "number", "", "", NULL };
static const struct conf_units units_size = { "size", "kmg",
	" (number with k, m or g)", size_mult };
static const struct conf_units units_duration = { "duration", "smhd",
	" (number with s, m, h or d)", duration_mult };

/* A number into a uint64_t or unsigned field (by its size), in range. */
static int set_number(struct conf *c, const struct conf_key *k,
    const char *val, const struct conf_units *u, char *msg, size_t msglen)
{
	uint64_t v;
	int rc = parse_scaled(val, u->letters, u->mult, &v);

	if (rc < 0) {
		if (rc == -ERANGE)
			snprintf(msg, msglen, "%s too large", u->what);
		else
			snprintf(msg, msglen, "bad %s \"%s\"%s", u->what, val,
			    u->hint);
		return -1;
	}
	if (range_msg(k, v, msg, msglen) < 0)
		return -1;
	if (k->aux == sizeof(uint64_t))
		*(uint64_t *)conf_field(c, k) = v;
	else
		*(unsigned *)conf_field(c, k) = (unsigned)v;
	return 0;
}

int conf_v_size(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	return set_number(c, k, val, &units_size, msg, msglen);
}

int conf_v_uint(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	return set_number(c, k, val, &units_plain, msg, msglen);
}

/* yes or no into an int field. */
int conf_v_bool(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	int *f = conf_field(c, k);

	if (strcmp(val, "yes") == 0)
		*f = 1;
	else if (strcmp(val, "no") == 0)
		*f = 0;
	else {
		snprintf(msg, msglen, "must be \"yes\" or \"no\"");
		return -1;
	}
	return 0;
}

int conf_v_duration(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	return set_number(c, k, val, &units_duration, msg, msglen);
}

unsigned conf_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > CONF_WORKERS_MAX ? CONF_WORKERS_MAX : (unsigned)n;
}

int conf_v_workers(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (strcmp(val, "auto") == 0) {
		*(unsigned *)conf_field(c, k) = conf_cpu_count();
		return 0;
	}
	return conf_v_uint(c, k, val, msg, msglen);
}

/* --- strings ------------------------------------------------------------ */

static int set_string(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (strlen(val) >= k->aux) {
		snprintf(msg, msglen, "too long (max %zu bytes)", k->aux - 1);
		return -1;
	}
	snprintf(conf_field(c, k), k->aux, "%s", val);
	return 0;
}

int conf_v_path(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	if (k->min > 0 && val[0] == '\0') {
		snprintf(msg, msglen, "must not be empty");
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

int conf_v_hostname(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (val[0] == '[' || addr_valid_domain(val, strlen(val), 0) != 0) {
		snprintf(msg, msglen, "bad host name \"%s\"", val);
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

int conf_v_bare_lf(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (strcmp(val, "normalize") != 0 && strcmp(val, "reject") != 0) {
		snprintf(msg, msglen, "must be \"normalize\" or \"reject\"");
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

/* mailbox_quota_action: what an over-quota delivery becomes. */
int conf_v_quota_action(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	if (strcmp(val, "defer") != 0 && strcmp(val, "bounce") != 0) {
		snprintf(msg, msglen, "must be \"defer\" or \"bounce\"");
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

/* smtp_tls_policy: an enum tls_policy into an int field. */
int conf_v_tls_policy(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	enum tls_policy p;

	if (tls_policy_parse(val, strlen(val), &p) < 0) {
		snprintf(msg, msglen,
		    "must be \"none\", \"may\", \"must\" or \"verify\"");
		return -1;
	}
	*(int *)conf_field(c, k) = (int)p;
	return 0;
}

/* A portable user name: [A-Za-z0-9._-], not starting with '-'. */
int conf_v_user(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	size_t n = strlen(val);
	int ok = n > 0 && n <= 32 && val[0] != '-';

	for (size_t i = 0; ok && i < n; i++)
		ok = (val[i] >= 'a' && val[i] <= 'z') ||
		    (val[i] >= 'A' && val[i] <= 'Z') ||
		    (val[i] >= '0' && val[i] <= '9') ||
		    val[i] == '.' || val[i] == '_' || val[i] == '-';
	if (!ok) {
		snprintf(msg, msglen, "bad user name \"%s\"", val);
		return -1;
	}
	return set_string(c, k, val, msg, msglen);
}

/* --- lists -------------------------------------------------------------- */

/* The next comma-separated item of *p into item; 1, 0 at the end, -1 with
 * a message for an empty or over-long item. */
static int list_next(const char **p, char *item, char *msg, size_t msglen)
{
	const char *s = *p, *comma;
	size_t n;
	char *t;

	if (s == NULL)
		return 0;
	comma = strchr(s, ',');
	n = comma ? (size_t)(comma - s) : strlen(s);
	*p = comma ? comma + 1 : NULL;
	if (n >= CONF_ITEM_MAX) {
		snprintf(msg, msglen, "list item too long");
		return -1;
	}
	memcpy(item, s, n);
	t = conf_trim(item, &n);
	memmove(item, t, n + 1);
	if (n == 0) {
		snprintf(msg, msglen, "empty list item");
		return -1;
	}
	return 1;
}

/* Check that one more entry fits a list of CONF_LIST_MAX. */
static int list_room(size_t n, size_t more, char *msg, size_t msglen)
{
	if (n + more <= CONF_LIST_MAX)
		return 0;
	snprintf(msg, msglen, "too many entries (max %d)", CONF_LIST_MAX);
	return -1;
}

typedef int conf_item_fn(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen);

/* Call fn on every item of a list value; an empty value has none. */
static int each_item(struct conf *c, const struct conf_key *k,
    const char *val, conf_item_fn *fn, char *msg, size_t msglen)
{
	char item[CONF_ITEM_MAX];
	int rc;

	if (val[0] == '\0')
		return 0;
	while ((rc = list_next(&val, item, msg, msglen)) > 0)
		if (fn(c, k, item, msg, msglen) < 0)
			return -1;
	return rc;
}

static size_t *list_count(struct conf *c, const struct conf_key *k)
{
	return (size_t *)(void *)((char *)c + k->aux);
}

/* One listener "host:port" / "[v6]:port" (a name may give several). */
static int item_listen(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	const char *why = "bad address";

	if (netaddr_parse_listen(item, conf_field(c, k), list_count(c, k),
	    CONF_LIST_MAX, &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", item, why);
		return -1;
	}
	return 0;
}

/* One DNS server: a numeric "ip", "ip:port" or "[ipv6]:port". */
static int item_dns(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	const char *why = "bad address";

	if (list_room(c->n_dns_servers, 1, msg, msglen) < 0)
		return -1;
	if (netaddr_parse_server(item, 53, &c->dns_servers[c->n_dns_servers],
	    &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", item, why);
		return -1;
	}
	c->n_dns_servers++;
	return 0;
}

/* One local domain, stored lower-cased. */
static int item_domain(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	char *d;

	if (addr_valid_domain(item, strlen(item), 1) != 0) {
		snprintf(msg, msglen, "bad domain \"%s\"", item);
		return -1;
	}
	if (list_room(c->n_local_domains, 1, msg, msglen) < 0)
		return -1;
	d = xstrdup(item);
	for (char *p = d; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	c->local_domains[c->n_local_domains++] = d;
	return 0;
}

/* One network of mynetworks. */
static int item_net(struct conf *c, const struct conf_key *k,
    const char *item, char *msg, size_t msglen)
{
	struct conf_net *net = &c->mynetworks[c->n_mynetworks];
	const char *why = "bad network";

	if (list_room(c->n_mynetworks, 1, msg, msglen) < 0)
		return -1;
	if (netaddr_parse_cidr(item, &net->family, net->addr, &net->prefix,
	    &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", item, why);
		return -1;
	}
	c->n_mynetworks++;
	return 0;
}

/* An empty *_listen value turns that service off. */
int conf_v_listen(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	*list_count(c, k) = 0;
	return each_item(c, k, val, item_listen, msg, msglen);
}

int conf_v_dns(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	c->n_dns_servers = 0;
	return each_item(c, k, val, item_dns, msg, msglen);
}

int conf_v_domains(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen)
{
	conf_free(c);
	return each_item(c, k, val, item_domain, msg, msglen);
}

int conf_v_nets(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	c->n_mynetworks = 0;
	return each_item(c, k, val, item_net, msg, msglen);
}

/* "[host]:port" (no MX lookup), "[host]", "host:port" or "host". */
int conf_v_hop(struct conf *c, const struct conf_key *k, const char *val,
    char *msg, size_t msglen)
{
	const char *why = "bad host name";

	memset(&c->relayhost, 0, sizeof(c->relayhost));
	if (val[0] != '\0' && netaddr_parse_hop(val, 25, &c->relayhost,
	    &why) < 0) {
		snprintf(msg, msglen, "\"%s\": %s", val, why);
		return -1;
	}
	return 0;
}
