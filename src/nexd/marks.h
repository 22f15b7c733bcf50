/* The marks, routing tables and rule priorities of the exit-node design
 * (shared docs: exit-node.md), in one place: the policy rules (policy.c),
 * the nftables tables (nftrules.c) and the WireGuard socket's fwmark
 * (exit_client.c) all take them from here. */
#ifndef NEXD_MARKS_H
#define NEXD_MARKS_H

#define MARK_WG 0x0000ca6c            /* 51820: packets of our WireGuard socket */
#define MARK_OOB 0x00004b66           /* 19302: out-of-band flows (API, DNS, STUN) */
#define TABLE_TUNNEL 51820            /* default dev <mesh interface> */
#define TABLE_OOB 19302               /* a copy of the main table's default route */
#define PRIO_SUPPRESS 19300           /* lookup main suppress_prefixlength 0 */
#define PRIO_OOB 19301                /* fwmark 0x4b66 lookup 19302 */
#define PRIO_TUNNEL 19302             /* not fwmark 51820 lookup 51820 */

/* A mark as nft script text: MARK_TEXT(MARK_OOB) is "0x00004b66". */
#define MARK_TEXT_(m) #m
#define MARK_TEXT(m) MARK_TEXT_(m)

#endif
