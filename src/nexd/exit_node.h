/* The exit node's side (nexd ... router --exit-node): forwarding on exactly
 * the mesh interface and the uplink (originals kept in the journal and put
 * back on stop), one nftables table of its own (forward, masquerade, MSS
 * clamp, nothing else into the mesh), and a warning when another table's
 * forward chain would drop what it forwards. Started and stopped by the loop. */
#ifndef NEXD_EXIT_NODE_H
#define NEXD_EXIT_NODE_H

#include <stdbool.h>
#include <stddef.h>

struct journal;
struct nl;
struct exit_node;

/* egress NULL: the interface of the main table's IPv4 default route.
 * 0 or -errno with a message in err; warn gets the forward-drop warning
 * ("" when none). */
/* ipv6: forward and masquerade IPv6 too (the uplink has an IPv6 default
 * route); IPv6 has no per-interface forwarding switch, so this sets
 * net.ipv6.conf.all.forwarding, journalled and restored like the rest. */
int exit_node_start(struct exit_node **out, struct nl *nl, struct journal *j, const char *mesh_if,
		    const char *egress, bool ipv6, char *warn, size_t warnlen, char *err, size_t errlen);
/* Removes the table and restores the sysctls. */
void exit_node_stop(struct exit_node *e, struct journal *j);
/* Removes a table left by a crash (the journal restores the sysctls). */
void exit_node_remove_leftovers(const char *mesh_if);

#endif
