/* netaddr: the network-address text of the config file -- listeners
 * "host:port" / "[ipv6]:port", servers, next hops, CIDR networks -- and
 * matching a peer address against a network.  Used by conf.c; kept apart
 * so the config parser stays one concern.  Functions return 0 (or a count)
 * or a negative errno, with a short reason in *why for the caller's
 * "file:line: message". */
#ifndef LIB_NETADDR_H
#define LIB_NETADDR_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/conf.h"

/* Parse a decimal port 0..65535 from s[0..n). */
int netaddr_port(const char *s, size_t n, unsigned *port);
/* Split "host", "host:port", "[host]" or "[host]:port" (a bare IPv6
 * address with several colons is all host).  *port is -1 when absent;
 * *bracketed tells whether the host was written in brackets. */
int netaddr_split(const char *s, char *host, size_t hostlen, int *port,
    int *bracketed, const char **why);
/* A numeric IPv4/IPv6 address and port into ss. */
int netaddr_numeric(const char *host, unsigned port,
    struct sockaddr_storage *ss, socklen_t *len);
/* Refuse host names (numeric addresses only): for fuzzing, where a DNS
 * lookup per input would stall the run. */
void netaddr_set_numeric_only(int on);
/* Resolve host (numeric first, then getaddrinfo) for binding: up to max
 * distinct addresses; returns how many, or a negative errno. */
int netaddr_resolve(const char *host, unsigned port,
    struct sockaddr_storage *out, socklen_t *outlen, size_t max,
    const char **why);
/* Append the listener(s) of "host:port" / "[ipv6]:port" to l[*n..max);
 * a host name may give several addresses.  The port is required. */
int netaddr_parse_listen(const char *item, struct conf_listen *l, size_t *n,
    size_t max, const char **why);
/* A numeric "ip", "ip:port", "[ipv6]" or "[ipv6]:port" server (port 1..65535,
 * default defport) into *l. */
int netaddr_parse_server(const char *item, unsigned defport,
    struct conf_listen *l, const char **why);
/* A next hop "[host]:port", "[host]", "host:port" or "host" (a domain name
 * or an IP address; defport when absent) into *h. */
int netaddr_parse_hop(const char *val, unsigned defport, struct conf_hop *h,
    const char **why);
/* "ip/prefix", "[ipv6]/prefix" or a bare ip (= /32, /128).  An IPv4-mapped
 * IPv6 network (::ffff:0:0/96 and longer) is stored as IPv4. */
int netaddr_parse_cidr(const char *s, int *family, uint8_t addr[16],
    unsigned *prefix, const char **why);
/* 1 if sa lies in the network; IPv4-mapped IPv6 peers count as IPv4. */
int netaddr_net_match(int family, const uint8_t addr[16], unsigned prefix,
    const struct sockaddr *sa);
#endif
