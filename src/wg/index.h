/* The index table: our random 32-bit local indices (the receiver index of
 * every message sent to us) mapped to a peer's pending handshake or to one
 * of its keypairs, as the Linux module's peerlookup.c. Indices are unique
 * within a device; an entry replaced (handshake -> keypair) hands its index
 * over. The table locks itself; entries are embedded in their owners. */
#ifndef WG_INDEX_H
#define WG_INDEX_H

#include <stdbool.h>
#include <stdint.h>

struct wg_peer;
struct keypair;

enum index_type { INDEX_HANDSHAKE = 1, INDEX_KEYPAIR = 2 };

struct index_entry {
	struct index_entry *next;
	struct wg_peer *peer;
	struct keypair *keypair;   /* INDEX_KEYPAIR only */
	uint32_t index;
	enum index_type type;
	bool hashed;
};

struct index_table;

int index_table_create(struct index_table **out);
void index_table_free(struct index_table *t);

/* Gives e a fresh random index not in use and adds it (removing it first
 * if it was in). Returns the index. */
uint32_t index_insert(struct index_table *t, struct index_entry *e);
/* new takes old's index and place; old is removed. False if old was not in. */
bool index_replace(struct index_table *t, struct index_entry *old, struct index_entry *new_entry);
void index_remove(struct index_table *t, struct index_entry *e);

/* Finds the entry for index when its type is in types (a mask). Returns
 * the peer (valid under the device's config lock) and, for a keypair, a new
 * reference in *kp. NULL when none. */
struct wg_peer *index_lookup(struct index_table *t, uint32_t index, unsigned types,
			     enum index_type *type, struct keypair **kp);

#endif
