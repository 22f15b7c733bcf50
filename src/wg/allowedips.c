/* Allowed IPs: one path-compressed binary trie per family. Every key is a
 * 128-bit number held in two host-order words (an IPv4 address sits in the
 * top 32 bits of the first word), so that matching a node is two masked
 * compares and finding where two keys part is a count of leading zeros.
 *
 * Invariants: a node without a peer (an interior node) always has two
 * children; a node's children extend its prefix, the child at index b having
 * bit `cidr` equal to b. Every node with a peer is also on its peer's list,
 * found through a small open-addressing table keyed by the peer pointer, so
 * that a peer's prefixes are walked and removed without scanning the trie. */
#include "wg/allowedips.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ALLOWEDIPS_MAX_PREFIXES (1u << 20)

struct node {
	struct node *child[2];
	struct node *parent;
	void *peer;                         /* NULL for an interior node */
	struct node *peer_prev, *peer_next; /* the peer's list */
	uint64_t key[2];                    /* masked to cidr */
	uint64_t mask[2];
	uint8_t cidr;
	uint8_t family;                     /* 4 or 6 */
};

struct peer_slot {
	void *peer;       /* NULL: empty slot */
	struct node *head, *tail; /* in insertion order, as `wg show` lists them */
};

struct allowedips {
	struct node *root4, *root6;
	size_t count;
	struct peer_slot *slots;
	size_t n_slots;   /* power of two, or 0 */
	size_t n_used;
};

/* --- keys --------------------------------------------------------------- */

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void key_load(uint64_t key[2], int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		key[0] = (uint64_t)addr[0] << 56 | (uint64_t)addr[1] << 48 |
			 (uint64_t)addr[2] << 40 | (uint64_t)addr[3] << 32;
		key[1] = 0;
	} else {
		key[0] = load_be64(addr);
		key[1] = load_be64(addr + 8);
	}
}

static void mask_make(uint64_t mask[2], unsigned cidr)
{
	mask[0] = cidr == 0 ? 0 : cidr >= 64 ? UINT64_MAX : UINT64_MAX << (64 - cidr);
	mask[1] = cidr <= 64 ? 0 : cidr >= 128 ? UINT64_MAX : UINT64_MAX << (128 - cidr);
}

static unsigned key_bit(const uint64_t key[2], unsigned i)
{
	return i < 64 ? (unsigned)(key[0] >> (63 - i)) & 1 : (unsigned)(key[1] >> (127 - i)) & 1;
}

/* Number of leading bits that a and b share (128 when equal). */
static unsigned key_common(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];

	if (x)
		return (unsigned)__builtin_clzll(x);
	x = a[1] ^ b[1];
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

static inline bool node_matches(const struct node *n, const uint64_t key[2])
{
	return ((key[0] ^ n->key[0]) & n->mask[0]) == 0 && ((key[1] ^ n->key[1]) & n->mask[1]) == 0;
}

/* --- the peer table -------------------------------------------------------- */

static size_t peer_hash(const void *peer, size_t n_slots)
{
	uint64_t h = (uint64_t)(uintptr_t)peer;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (n_slots - 1);
}

static struct peer_slot *peer_find(const struct allowedips *a, const void *peer)
{
	if (!a->n_slots)
		return NULL;
	for (size_t i = peer_hash(peer, a->n_slots);; i = (i + 1) & (a->n_slots - 1)) {
		if (a->slots[i].peer == peer)
			return &a->slots[i];
		if (!a->slots[i].peer)
			return NULL;
	}
}

/* Makes room for one more peer so that peer_get_or_add cannot fail. */
static int peer_reserve(struct allowedips *a)
{
	struct peer_slot *old = a->slots, *slots;
	size_t n_old = a->n_slots, n;

	if ((a->n_used + 1) * 2 <= a->n_slots)
		return 0;
	n = n_old ? n_old * 2 : 16;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n_old; i++) {
		size_t j;

		if (!old[i].peer)
			continue;
		for (j = peer_hash(old[i].peer, n); slots[j].peer; j = (j + 1) & (n - 1))
			;
		slots[j] = old[i];
	}
	free(old);
	a->slots = slots;
	a->n_slots = n;
	return 0;
}

static struct peer_slot *peer_get_or_add(struct allowedips *a, void *peer)
{
	size_t i;

	for (i = peer_hash(peer, a->n_slots); a->slots[i].peer; i = (i + 1) & (a->n_slots - 1))
		if (a->slots[i].peer == peer)
			return &a->slots[i];
	a->slots[i].peer = peer;
	a->slots[i].head = a->slots[i].tail = NULL;
	a->n_used++;
	return &a->slots[i];
}

/* Deletes a slot, shifting back the entries after it (no tombstones). */
static void peer_delete(struct allowedips *a, struct peer_slot *slot)
{
	size_t mask = a->n_slots - 1, hole = (size_t)(slot - a->slots);

	for (size_t i = (hole + 1) & mask; a->slots[i].peer; i = (i + 1) & mask) {
		size_t home = peer_hash(a->slots[i].peer, a->n_slots);

		/* Move i into the hole if its home does not lie in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			a->slots[hole] = a->slots[i];
			hole = i;
		}
	}
	a->slots[hole].peer = NULL;
	a->slots[hole].head = a->slots[hole].tail = NULL;
	a->n_used--;
}

static void peer_list_add(struct allowedips *a, struct node *n, void *peer)
{
	struct peer_slot *s = peer_get_or_add(a, peer);

	n->peer = peer;
	n->peer_next = NULL;
	n->peer_prev = s->tail;
	if (s->tail)
		s->tail->peer_next = n;
	else
		s->head = n;
	s->tail = n;
}

static void peer_list_del(struct allowedips *a, struct node *n)
{
	if (!n->peer_prev || !n->peer_next) {
		struct peer_slot *s = peer_find(a, n->peer);

		if (!n->peer_prev)
			s->head = n->peer_next;
		if (!n->peer_next)
			s->tail = n->peer_prev;
		if (!s->head)
			peer_delete(a, s);
	}
	if (n->peer_prev)
		n->peer_prev->peer_next = n->peer_next;
	if (n->peer_next)
		n->peer_next->peer_prev = n->peer_prev;
	n->peer = NULL;
	n->peer_prev = n->peer_next = NULL;
}

/* --- the trie ---------------------------------------------------------------- */

static struct node **root_of(struct allowedips *a, int family)
{
	return family == AF_INET ? &a->root4 : &a->root6;
}

/* The pointer that holds n: its parent's child slot or the root. */
static struct node **slot_of(struct allowedips *a, struct node *n)
{
	if (!n->parent)
		return root_of(a, n->family == 4 ? AF_INET : AF_INET6);
	return n->parent->child[0] == n ? &n->parent->child[0] : &n->parent->child[1];
}

static void node_init(struct node *n, const uint64_t key[2], unsigned cidr, uint8_t family)
{
	memset(n, 0, sizeof(*n));
	mask_make(n->mask, cidr);
	n->key[0] = key[0] & n->mask[0];
	n->key[1] = key[1] & n->mask[1];
	n->cidr = (uint8_t)cidr;
	n->family = family;
}

static void set_child(struct node *parent, unsigned bit, struct node *child)
{
	parent->child[bit] = child;
	if (child)
		child->parent = parent;
}

int allowedips_create(struct allowedips **out)
{
	struct allowedips *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	*out = a;
	return 0;
}

static void free_tree(struct node *n)
{
	while (n) {
		struct node *next;

		/* Descend; free a node once both its children are gone. */
		if (n->child[0]) {
			next = n->child[0];
			n->child[0] = NULL;
		} else if (n->child[1]) {
			next = n->child[1];
			n->child[1] = NULL;
		} else {
			next = n->parent;
			free(n);
		}
		n = next;
	}
}

void allowedips_free(struct allowedips *a)
{
	if (!a)
		return;
	free_tree(a->root4);
	free_tree(a->root6);
	free(a->slots);
	free(a);
}

static int prefix_check(const struct cidr *prefix, unsigned *max)
{
	if (!prefix)
		return -EINVAL;
	if (prefix->family == AF_INET)
		*max = 32;
	else if (prefix->family == AF_INET6)
		*max = 128;
	else
		return -EINVAL;
	return prefix->prefix <= *max ? 0 : -EINVAL;
}

/* The node holding exactly (key, cidr), or NULL. */
static struct node *find_exact(struct node *n, const uint64_t key[2], unsigned cidr)
{
	while (n && n->cidr <= cidr && node_matches(n, key)) {
		if (n->cidr == cidr)
			return n;
		n = n->child[key_bit(key, n->cidr)];
	}
	return NULL;
}

int allowedips_insert(struct allowedips *a, const struct cidr *prefix, void *peer)
{
	struct node *spare[2] = { NULL, NULL }, *n, *parent = NULL, **slot;
	uint64_t key[2], mask[2];
	unsigned cidr, max, common;
	uint8_t family;
	int ret;

	if (!a || !peer || (ret = prefix_check(prefix, &max)))
		return -EINVAL;
	cidr = prefix->prefix;
	family = prefix->family == AF_INET ? 4 : 6;
	key_load(key, prefix->family, prefix->addr);
	mask_make(mask, cidr);
	key[0] &= mask[0];
	key[1] &= mask[1];

	slot = root_of(a, prefix->family);
	n = find_exact(*slot, key, cidr);
	if (n && n->peer == peer)
		return 0;
	if ((ret = peer_reserve(a)))
		return ret;
	if (n) {
		/* Moves an owned prefix, or gives an interior node a peer. */
		if (n->peer)
			peer_list_del(a, n);
		else if (a->count >= ALLOWEDIPS_MAX_PREFIXES)
			return -ENOSPC;
		else
			a->count++;
		peer_list_add(a, n, peer);
		return 0;
	}
	if (a->count >= ALLOWEDIPS_MAX_PREFIXES)
		return -ENOSPC;
	spare[0] = malloc(sizeof(struct node));
	spare[1] = malloc(sizeof(struct node));
	if (!spare[0] || !spare[1]) {
		free(spare[0]);
		free(spare[1]);
		return -ENOMEM;
	}
	node_init(spare[0], key, cidr, family);
	peer_list_add(a, spare[0], peer);
	a->count++;

	for (n = *slot;;) {
		if (!n) {
			/* An empty child slot (or an empty trie). */
			*slot = spare[0];
			spare[0]->parent = parent;
			break;
		}
		common = key_common(key, n->key);
		if (common > cidr)
			common = cidr;
		if (common > n->cidr)
			common = n->cidr;
		if (common == n->cidr) {
			/* n is a shorter prefix of ours: go down (n->cidr < cidr here). */
			parent = n;
			slot = &n->child[key_bit(key, n->cidr)];
			n = *slot;
			continue;
		}
		if (common == cidr) {
			/* Ours is a shorter prefix of n: it takes n's place above it. */
			*slot = spare[0];
			spare[0]->parent = parent;
			set_child(spare[0], key_bit(n->key, cidr), n);
			break;
		}
		/* The two part at bit `common`: an interior node joins them. */
		node_init(spare[1], key, common, family);
		*slot = spare[1];
		spare[1]->parent = parent;
		set_child(spare[1], key_bit(key, common), spare[0]);
		set_child(spare[1], key_bit(n->key, common), n);
		spare[1] = NULL;
		break;
	}
	free(spare[1]);
	return 0;
}

/* Takes n's peer away and restores the invariants, freeing what is left
 * without a purpose: n itself when it has at most one child, and then its
 * parent when that is an interior node left with a single child. */
static void remove_node(struct allowedips *a, struct node *n)
{
	struct node *parent, *child, **slot;

	peer_list_del(a, n);
	a->count--;
	if (n->child[0] && n->child[1])
		return;
	child = n->child[0] ? n->child[0] : n->child[1];
	parent = n->parent;
	slot = slot_of(a, n);
	*slot = child;
	if (child)
		child->parent = parent;
	free(n);
	if (child || !parent || parent->peer)
		return;
	/* parent is interior and now has one child: splice it out. */
	child = parent->child[0] ? parent->child[0] : parent->child[1];
	slot = slot_of(a, parent);
	*slot = child;
	child->parent = parent->parent;
	free(parent);
}

int allowedips_remove(struct allowedips *a, const struct cidr *prefix, void *peer)
{
	uint64_t key[2], mask[2];
	unsigned max;
	struct node *n;

	if (!a || !peer || prefix_check(prefix, &max))
		return -EINVAL;
	key_load(key, prefix->family, prefix->addr);
	mask_make(mask, prefix->prefix);
	key[0] &= mask[0];
	key[1] &= mask[1];
	n = find_exact(*root_of(a, prefix->family), key, prefix->prefix);
	if (!n || n->peer != peer)
		return -ENOENT;
	remove_node(a, n);
	return 0;
}

void allowedips_remove_by_peer(struct allowedips *a, void *peer)
{
	struct peer_slot *s;

	if (!a || !peer)
		return;
	/* Removing the last node deletes the slot, which ends the loop. */
	while ((s = peer_find(a, peer)) && s->head)
		remove_node(a, s->head);
}

void *allowedips_lookup(const struct allowedips *a, int family, const void *addr)
{
	const struct node *n;
	uint64_t key[2];
	void *found = NULL;
	unsigned bits;

	if (family == AF_INET) {
		n = a->root4;
		bits = 32;
	} else if (family == AF_INET6) {
		n = a->root6;
		bits = 128;
	} else {
		return NULL;
	}
	key_load(key, family, addr);
	while (n && node_matches(n, key)) {
		if (n->peer)
			found = n->peer;
		if (n->cidr >= bits)
			break;
		n = n->child[key_bit(key, n->cidr)];
	}
	return found;
}

static void node_to_cidr(const struct node *n, struct cidr *c)
{
	uint8_t buf[16];

	memset(c, 0, sizeof(*c));
	store_be64(buf, n->key[0]);
	store_be64(buf + 8, n->key[1]);
	c->family = n->family == 4 ? AF_INET : AF_INET6;
	memcpy(c->addr, buf, n->family == 4 ? 4 : 16);
	c->prefix = n->cidr;
}

int allowedips_walk_by_peer(const struct allowedips *a, void *peer,
			    int (*fn)(void *ctx, const struct cidr *prefix), void *ctx)
{
	const struct peer_slot *s;
	struct cidr c;
	int ret;

	if (!a || !peer)
		return 0;
	s = peer_find(a, peer);
	for (const struct node *n = s ? s->head : NULL; n; n = n->peer_next) {
		node_to_cidr(n, &c);
		if ((ret = fn(ctx, &c)))
			return ret;
	}
	return 0;
}

size_t allowedips_count(const struct allowedips *a)
{
	return a ? a->count : 0;
}
