/* Allowed IPs: a longest-prefix-match trie per family (IPv4, IPv6) mapping
 * prefixes to peers, as the Linux module's allowedips.c. A prefix belongs
 * to exactly one peer: inserting it for another moves it. Not locked: the
 * device guards it with a read-write lock (lookups on the packet path take
 * the read side). */
#ifndef WG_ALLOWEDIPS_H
#define WG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct allowedips;

int allowedips_create(struct allowedips **out);
void allowedips_free(struct allowedips *a);

/* Host bits of addr beyond cidr are ignored. 0 or -ENOMEM / -EINVAL. */
int allowedips_insert(struct allowedips *a, const struct cidr *prefix, void *peer);
/* Removes prefix if it belongs to peer; -ENOENT otherwise. */
int allowedips_remove(struct allowedips *a, const struct cidr *prefix, void *peer);
void allowedips_remove_by_peer(struct allowedips *a, void *peer);
/* Longest-prefix match of a 4- or 16-byte address; NULL when none. */
void *allowedips_lookup(const struct allowedips *a, int family, const void *addr);
/* Calls fn for each prefix of peer, in the order they were inserted (a
 * prefix moved to peer counts as inserted then), as `wg show` lists them;
 * stops and returns fn's value when it is non-zero. Cost proportional to
 * the peer's own prefixes, not the whole trie. */
int allowedips_walk_by_peer(const struct allowedips *a, void *peer,
			    int (*fn)(void *ctx, const struct cidr *prefix), void *ctx);
size_t allowedips_count(const struct allowedips *a);

#endif
