/* rtnetlink through libmnl: links, addresses, routes (any table, 32-bit
 * table ids), policy rules, and a subscription to link and route changes.
 *
 * One `struct nl` per caller object (a socket each; not thread-safe). Every
 * request carries NLM_F_ACK and a fresh sequence number; replies are accepted
 * only from the kernel with our sequence number and port id; every attribute
 * is length-checked before use. Errors are returned as -errno (the kernel's
 * own error for a rejected request, e.g. -EEXIST, -ENODEV; deleting what is
 * not there gives -EADDRNOTAVAIL for an address, -ESRCH for a route and
 * -ENOENT for a rule). -EINVAL for arguments refused before sending. */
#ifndef NEXD_NETLINK_H
#define NEXD_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct nl;

enum nl_limits {
	NL_LIST_MAX = 65536,     /* entries a flush or a delete-by-priority handles per call */
	NL_JUNK_MAX = 1024,      /* stale replies (old sequence numbers) skipped per request */
	NL_RECV_TIMEOUT_MS = 5000,
};

int nl_open(struct nl **out);
void nl_close(struct nl *nl);
/* The kernel's extended-ack text for the last failed request ("" if none). */
const char *nl_last_error(const struct nl *nl);

/* Links. */
int nl_link_index(struct nl *nl, const char *name, unsigned *ifindex);
int nl_link_set_up(struct nl *nl, unsigned ifindex, bool up);
int nl_link_set_mtu(struct nl *nl, unsigned ifindex, unsigned mtu);

/* Addresses: `addr` holds the address (host bits set) and its prefix length. */
struct nl_addr {
	unsigned ifindex;
	struct cidr addr;
};
int nl_addr_add(struct nl *nl, unsigned ifindex, const struct cidr *addr);
int nl_addr_del(struct nl *nl, unsigned ifindex, const struct cidr *addr);
/* Addresses of `ifindex` (0: every link) of `family` (AF_UNSPEC: both).
 * Fills up to `max`; *n is the number found (-ENOSPC when more than max
 * existed: the first max are filled). */
int nl_addr_list(struct nl *nl, unsigned ifindex, int family,
		 struct nl_addr *out, size_t max, size_t *n);

/* Routes (RTN_*, RT_TABLE_*, RTPROT_* and RT_SCOPE_* are those of
 * <linux/rtnetlink.h>). `type` is RTN_UNICAST or RTN_BLACKHOLE for add; a
 * list reports whatever type the kernel holds (RTN_LOCAL, RTN_UNREACHABLE,
 * ...). A v4 unicast route without gateway gets link scope, as with ip(8). */
struct nl_route {
	struct cidr dst;         /* family, destination, prefix length */
	uint32_t table;          /* RT_TABLE_MAIN (254), 51820, ... */
	unsigned type;           /* RTN_* */
	unsigned oif;            /* 0: none */
	bool has_gateway;
	uint8_t gateway[16];     /* same family as dst */
	uint32_t metric;         /* RTA_PRIORITY; 0: none */
	unsigned protocol;       /* RTPROT_*; 0 on add means RTPROT_BOOT */
	unsigned scope;          /* RT_SCOPE_*, reported by list */
};
int nl_route_add(struct nl *nl, const struct nl_route *r);
/* Deletes the route matching dst, table, type, and oif/gateway/metric when set. */
int nl_route_del(struct nl *nl, const struct nl_route *r);
/* Routes of one table and family (AF_INET or AF_INET6); n as for addresses. */
int nl_route_list(struct nl *nl, int family, uint32_t table,
		  struct nl_route *out, size_t max, size_t *n);
/* Deletes every route of the table (one family); *removed counts them. */
int nl_route_flush_table(struct nl *nl, int family, uint32_t table, unsigned *removed);
/* The main table's default route of the family with the lowest metric:
 * its gateway (if any) and output interface. -ENOENT if there is none.
 * For a multipath route, its first next hop. */
int nl_route_get_default(struct nl *nl, int family, struct nl_route *out);

/* Policy rules (action "lookup table"). */
struct nl_rule {
	int family;              /* AF_INET or AF_INET6 */
	uint32_t priority;
	uint32_t table;
	bool invert;             /* "not ..." (FIB_RULE_INVERT) */
	bool has_fwmark;
	uint32_t fwmark;
	uint32_t fwmask;         /* 0 on add means 0xffffffff */
	bool has_suppress_prefixlen;
	uint32_t suppress_prefixlen;
};
int nl_rule_add(struct nl *nl, const struct nl_rule *r);
/* Deletes the rule matching every field given. */
int nl_rule_del(struct nl *nl, const struct nl_rule *r);
/* Every rule of the family, n as for addresses. */
int nl_rule_list(struct nl *nl, int family, struct nl_rule *out, size_t max, size_t *n);
/* Deletes every rule of the family at `priority` (leftovers); *removed counts them. */
int nl_rule_del_priority(struct nl *nl, int family, uint32_t priority, unsigned *removed);

/* Change notifications: links (RTMGRP_LINK) and IPv4/IPv6 routes. Poll the
 * fd for input, then drain: *events gets NL_EVENT_* bits for what changed
 * (both bits when the kernel dropped notifications, so that callers re-read
 * their state). Returns 0 (also when nothing was pending) or -errno. */
struct nl_monitor;
enum { NL_EVENT_LINK = 1u << 0, NL_EVENT_ROUTE = 1u << 1 };
int nl_monitor_open(struct nl_monitor **out);
int nl_monitor_fd(const struct nl_monitor *m);
int nl_monitor_drain(struct nl_monitor *m, unsigned *events);
void nl_monitor_close(struct nl_monitor *m);

#endif
