/* Policy routing of an exit-node client, exactly as the design gives it
 * (docs: shared exit-node.md), for IPv4 and IPv6:
 *
 *   19300  lookup main suppress_prefixlength 0
 *   19301  fwmark 0x4b66 lookup 19302
 *   19302  not fwmark 51820 lookup 51820
 *
 *   table 51820: default dev <mesh interface>
 *   table 19302: a copy of the main table's default route (same gateway and
 *                interface), kept in step when it changes
 *
 * Everything is found again by its fixed numbers, so that removal also
 * cleans up after a crash. */
#ifndef NEXD_POLICY_H
#define NEXD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "nexd/marks.h"

struct nl;


/* Installs the rules and table 51820 for both families (IPv6 only where
 * the host has IPv6), then syncs table 19302. 0 or -errno. */
int policy_install(struct nl *nl, unsigned mesh_ifindex);
/* Makes table 19302 a copy of the main table's default routes. *changed
 * tells whether anything was rewritten; *uplink gets the ifindex of the
 * IPv4 default route (0 when none). */
int policy_sync_oob_table(struct nl *nl, bool *changed, unsigned *uplink);
/* Removes the rules at 19300-19302 and flushes tables 51820 and 19302, both
 * families. Idempotent; *removed counts what was there. */
int policy_remove(struct nl *nl, unsigned *removed);

#endif
