/* conf_int: what the mta.conf parser (conf.c) and its value parsers
 * (conf_value.c) share: the key table's row type and one parser per kind
 * of value.  Private to lib/conf*.c; programs include conf.h only. */
#ifndef LIB_CONF_INT_H
#define LIB_CONF_INT_H
#include "lib/conf.h"

#define CONF_ITEM_MAX 1024		/* bytes per list item */
#define CONF_WORKERS_MAX 1024

struct conf_key;
/* Parse val into the field of k; 0, or -1 with a message in msg. */
typedef int conf_value_fn(struct conf *c, const struct conf_key *k,
    const char *val, char *msg, size_t msglen);

struct conf_key {
	const char *name;
	conf_value_fn *parse;
	size_t off;		/* the field in struct conf */
	size_t aux;		/* string: field size; list: offset of its count */
	uint64_t min, max;	/* numbers: accepted range */
};

conf_value_fn conf_v_hostname, conf_v_path, conf_v_listen, conf_v_domains,
    conf_v_nets, conf_v_hop, conf_v_dns, conf_v_size, conf_v_uint,
    conf_v_duration, conf_v_workers, conf_v_bare_lf, conf_v_user,
    conf_v_quota_action, conf_v_bool, conf_v_tls_policy;

/* The field of struct conf that key k sets. */
void *conf_field(struct conf *c, const struct conf_key *k);
/* 1 for a space or a tab. */
int conf_is_space(char ch);
/* Trim spaces and tabs around s[0..*n) in place; returns the new start. */
char *conf_trim(char *s, size_t *n);
/* Online CPUs, at least 1: what "auto" workers means. */
unsigned conf_cpu_count(void);
#endif
