/* Which path a peer's WireGuard packets take: direct (its local or
 * reflexive endpoint, or the address that answered our last probe) or
 * through our TURN relay. A pure function of what the loop knows, per peer,
 * like ICE's nomination: direct first; the relay when no direct path
 * answers within PATH_DIRECT_GRACE_MS; back to direct as soon as a
 * connectivity check (a STUN Binding between the two WireGuard ports)
 * answers; the relay again when the direct path stops answering. The
 * prober's replies over the tunnel are the one signal of "answers", for
 * paths as for exit nodes. Unit-tested. */
#ifndef NEXD_PATH_H
#define NEXD_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "nexd/keyindex.h"

#define PATH_DIRECT_GRACE_MS 2500     /* a new or dying direct path gets this long */
#define PATH_RETRY_BACKOFF_MS 10000   /* a direct path that failed is retried no sooner */
#define PATH_PROBE_FRESH_MS 3000      /* a check answered this recently counts */
#define PATH_RELAY_LOSS_MS 5000       /* a relay not ready this long is given up (it moves:
				       * a new allocation, a channel bound again) */

enum path_kind { PATH_DIRECT, PATH_RELAY };

/* A peer's path, kept by the loop between calls. */
struct path_state {
	enum path_kind kind;
	uint64_t since_ns;              /* on this path since */
	uint64_t direct_failed_ns;      /* the last direct path that stopped answering, 0 never */
	bool has_direct_ep;
	union sockaddr_any direct_ep;   /* the address that answered a check */
	uint64_t relay_down_ns;         /* relayed, and the relay not ready since, 0 when ready */
};

struct path_input {
	uint64_t now_ns;
	bool relay_ready;               /* our allocation, the peer's relayed address, a channel to it */
	bool reachable;                 /* the prober's replies come, on whatever path */
	uint64_t last_reply_ns;         /* the prober's last reply, 0 never */
	uint64_t probe_ok_ns;           /* a connectivity check to a direct candidate answered, 0 never */
	union sockaddr_any probe_ep;    /* from there */
};

void path_init(struct path_state *s, uint64_t now_ns);
/* Updates s; true when the path changed (the reason in why). */
bool path_step(struct path_state *s, const struct path_input *in, char *why, size_t whylen);
const char *path_name(enum path_kind k);

/* Every peer's path, by public key, kept by the loop between passes. A
 * pass over the organization: path_table_begin, path_table_see for each
 * other device, path_table_end. Lookups are by index (keyindex.h), so that
 * a pass costs O(n) (issue 15). */
struct path_peer {
	uint8_t key[32];
	struct path_state st;
	uint64_t probe_ok_ns;           /* a connectivity check answered */
	union sockaddr_any probe_ep;    /* from there */
	bool seen;
	bool recreate;                  /* moved to the relay before any handshake: start afresh */
};

struct path_table {
	struct path_peer *peers;        /* heap, n of them (room for cap), keys unique */
	size_t n, cap;
	struct keyindex ix;             /* peers by key */
};

void path_table_init(struct path_table *t);
void path_table_release(struct path_table *t);
/* The peer's entry, or NULL. */
struct path_peer *path_table_find(const struct path_table *t, const uint8_t key[32]);
void path_table_begin(struct path_table *t);
/* The peer's entry, marked seen; a new one (path_init at now_ns) when it
 * has none. NULL when out of memory. */
struct path_peer *path_table_see(struct path_table *t, const uint8_t key[32], uint64_t now_ns);
/* Drops the entries not seen since path_table_begin (the last one moves
 * into a dropped one's place). */
void path_table_end(struct path_table *t);

#endif
