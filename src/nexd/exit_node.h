/* The exit node's side (nexd ... router --exit-node): forwarding on exactly
 * the mesh interface and the uplink (originals kept in the journal and put
 * back on stop), one nftables table of its own (forward, masquerade, MSS
 * clamp, nothing else into the mesh, nothing to the exit host's own
 * networks), and a warning when another table's forward chain would drop
 * what it forwards, checked again and again. Started, checked and stopped
 * by the loop. */
#ifndef NEXD_EXIT_NODE_H
#define NEXD_EXIT_NODE_H

#include <stdbool.h>
#include <stddef.h>

struct journal;
struct nl;
struct exit_node;

/* egress NULL: the interface of the main table's IPv4 default route.
 * allow_lan: forward to the exit host's directly connected networks too
 * (--exit-node-allow-lan); link-local and the host itself stay dropped.
 * 0 or -errno with a message in err. */
/* ipv6: forward and masquerade IPv6 too (the uplink has an IPv6 default
 * route); IPv6 has no per-interface forwarding switch, so this sets
 * net.ipv6.conf.all.forwarding, journalled and restored like the rest. */
int exit_node_start(struct exit_node **out, struct nl *nl, struct journal *j, const char *mesh_if,
		    const char *egress, bool ipv6, bool allow_lan, char *err, size_t errlen);
/* The periodic check (the loop calls it at start and every few seconds):
 * the host's networks in the table follow its addresses, and other tables'
 * forward chains that drop what we forward are looked for (nft.h). true
 * when that finding changed (logged: a warning, or that it cleared). */
bool exit_node_check(struct exit_node *e);
/* The finding: "" or "table inet fw, chain forward has policy drop: ...". */
const char *exit_node_warning(const struct exit_node *e);
/* What the exit node reports as its exit_node_status: "exit node:
 * forwarding", or "exit node: firewall may drop forwarded traffic: table
 * inet fw, chain forward has policy drop". */
void exit_node_status(const struct exit_node *e, char *out, size_t len);
/* Removes the table and restores the sysctls. */
void exit_node_stop(struct exit_node *e, struct journal *j);
/* Removes a table left by a crash (the journal restores the sysctls). */
void exit_node_remove_leftovers(const char *mesh_if);

#endif
