/* The nftables scripts of nexd's two tables, as text, from parameters.
 * Pure functions: nothing here touches the kernel (nft.h applies a script).
 *
 * - The exit node's table, `table inet nexd-exit-<mesh if>`: forwards mesh
 *   traffic out of the uplink and established/related replies back, drops
 *   anything else headed into the mesh interface, masquerades mesh traffic
 *   leaving through the uplink, clamps the TCP MSS of forwarded SYNs (both
 *   directions) to the route MTU; IPv6 forwarded only when asked.
 * - The exit-node client's table, `table inet nexd-client-<mesh if>`: sets of
 *   out-of-band flows (address . port, per protocol and family), mark 19302
 *   (0x4b66) on them and on packets of flows already marked, the ct-mark save
 *   (51820 of our WireGuard UDP, 19302) and restore that keeps strict
 *   rp_filter hosts working, the masquerade of rerouted out-of-band traffic,
 *   new inbound connections through the tunnel only from mesh sources, and,
 *   when the exit node carries no IPv6, IPv6 out of the mesh interface
 *   rejected except out-of-band and mesh destinations.
 *
 * A full table script replaces the table atomically when applied
 * ("add table; delete table; table { ... }" in one transaction), so applying
 * it again converges whether or not the table existed. The sets script
 * replaces only the sets' elements (flush + add, one transaction).
 *
 * Every interface name is checked (nftrules_ifname_valid) and every address
 * is written by inet_ntop from binary: nothing from outside is pasted into a
 * script. Scripts are returned in malloc'd strings the caller frees. */
#ifndef NEXD_NFTRULES_H
#define NEXD_NFTRULES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"

#define NFTRULES_FAMILY "inet"
#define NFTRULES_EXIT_PREFIX "nexd-exit-"
#define NFTRULES_CLIENT_PREFIX "nexd-client-"

enum nftrules_limits {
	NFTRULES_IFNAME_MAX = 15,      /* IFNAMSIZ - 1 */
	NFTRULES_TABLE_NAME_MAX = 31,  /* "nexd-client-" + interface name */
	NFTRULES_FLOWS_MAX = 64,       /* entries in each of api, dns, stun */
	NFTRULES_SCRIPT_MAX = 65536,   /* bytes of a script */
};

/* Interface names: 1..15 characters from [A-Za-z0-9_.-], not "." or "..". */
bool nftrules_ifname_valid(const char *name);

/* "nexd-exit-<ifname>" / "nexd-client-<ifname>" into out (at least
 * NFTRULES_TABLE_NAME_MAX + 1 bytes). -EINVAL for an invalid name. */
int nftrules_exit_table(const char *ifname, char out[NFTRULES_TABLE_NAME_MAX + 1]);
int nftrules_client_table(const char *ifname, char out[NFTRULES_TABLE_NAME_MAX + 1]);

/* The exit node's own networks (docs/exit-node.md): forwarded mesh
 * traffic to the networks directly connected to the exit host (set lan4,
 * lan6; empty with allow_lan), to link-local (169.254.0.0/16, fe80::/10)
 * is dropped, and so is mesh traffic to the exit host's own addresses
 * outside the mesh (sets own4, own6; input). */
#define NFTRULES_NETS_MAX 256

struct nftrules_exit {
	const char *ifname;    /* the mesh (WireGuard) interface */
	const char *uplink;    /* the egress interface */
	bool ipv6;             /* forward IPv6 too; else IPv6 in or out of the mesh is dropped */
	bool mesh_to_mesh;     /* also forward mesh -> mesh (a relay on the same node) */
	bool allow_lan;        /* forward to the directly connected networks (lan ignored) */
	const struct cidr *lan;   /* n_lan (at most NFTRULES_NETS_MAX): connected networks; host bits
				   * are cleared, duplicates and prefixes inside others dropped */
	size_t n_lan;
	const struct cidr *own;   /* n_own (at most NFTRULES_NETS_MAX): the host's addresses (as /32,
				   * /128; the prefix length is ignored) */
	size_t n_own;
};

/* The exit node's table. 0, or -EINVAL (a bad or equal interface name),
 * -E2BIG (too many networks), -ENOMEM. */
int nftrules_exit_script(const struct nftrules_exit *p, char **out);
/* Only the elements of the sets lan4, lan6, own4, own6 (flush + add, one
 * transaction): the exit host's addresses changed. Same errors. */
int nftrules_exit_sets_script(const struct nftrules_exit *p, char **out);

/* The out-of-band flows. A port in each address is used as given (network
 * order in the sockaddr; 0 is refused). api: TCP; dns: UDP and TCP; stun:
 * UDP. v4-mapped IPv6 addresses count as IPv4; duplicates are written once;
 * a scope id is ignored (a set holds addresses only). More than
 * NFTRULES_FLOWS_MAX entries in one list: -E2BIG. */
struct nftrules_oob {
	const union sockaddr_any *api;
	size_t n_api;
	const union sockaddr_any *dns;
	size_t n_dns;
	const union sockaddr_any *stun;
	size_t n_stun;
};

struct nftrules_client {
	const char *ifname;    /* the mesh interface */
	const char *uplink;    /* the uplink of table 19302; NULL: no masquerade rule */
	struct cidr mesh4;     /* the mesh's IPv4 prefix (AF_INET), e.g. 100.100.0.0/16 */
	bool has_mesh6;
	struct cidr mesh6;     /* the mesh's IPv6 prefix (AF_INET6), when has_mesh6 */
	bool exit_ipv6;        /* the exit node carries IPv6: no IPv6 reject chain */
	struct nftrules_oob oob;
};

/* The client's table, with the sets filled. 0, or -EINVAL (bad interface
 * name, prefix of the wrong family, address of an unknown family, port 0),
 * -E2BIG, -ENOMEM. Without has_mesh6, new inbound IPv6 connections through
 * the tunnel are all dropped and IPv6 out of the mesh interface is rejected
 * for every destination (out-of-band excepted). */
int nftrules_client_script(const struct nftrules_client *p, char **out);

/* Replaces the elements of the client table's four sets (and nothing else)
 * with those of oob. Same errors as nftrules_client_script. */
int nftrules_client_sets_script(const char *ifname, const struct nftrules_oob *oob, char **out);

#endif
