#include "wg/peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/key.h"
#include "wg/crypto.h"

#define PEER_BUCKETS 4096

struct peer_table {
	struct wg_peer *buckets[PEER_BUCKETS];
	struct wg_peer *first, *last;
	size_t count;
};

int peer_table_create(struct peer_table **out)
{
	struct peer_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	*out = t;
	return 0;
}

void peer_table_free(struct peer_table *t)
{
	free(t);
}

static struct wg_peer **bucket(struct peer_table *t, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	uint32_t h = le32_load(key) ^ le32_load(key + 12) ^ le32_load(key + 24);

	return &t->buckets[h & (PEER_BUCKETS - 1)];
}

struct wg_peer *peer_table_lookup(struct peer_table *t, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct wg_peer *p;

	for (p = *bucket(t, key); p; p = p->hash_next)
		if (!memcmp(p->public_key, key, NOISE_PUBLIC_KEY_LEN)) /* public keys: not secret */
			return p;
	return NULL;
}

void peer_table_add(struct peer_table *t, struct wg_peer *p)
{
	struct wg_peer **b = bucket(t, p->public_key);

	p->hash_next = *b;
	*b = p;
	p->list_next = NULL;
	p->list_prev = t->last;
	if (t->last)
		t->last->list_next = p;
	else
		t->first = p;
	t->last = p;
	t->count++;
}

void peer_table_del(struct peer_table *t, struct wg_peer *p)
{
	struct wg_peer **pp;

	for (pp = bucket(t, p->public_key); *pp; pp = &(*pp)->hash_next) {
		if (*pp == p) {
			*pp = p->hash_next;
			break;
		}
	}
	if (p->list_prev)
		p->list_prev->list_next = p->list_next;
	else
		t->first = p->list_next;
	if (p->list_next)
		p->list_next->list_prev = p->list_prev;
	else
		t->last = p->list_prev;
	p->hash_next = p->list_prev = p->list_next = NULL;
	t->count--;
}

size_t peer_table_count(const struct peer_table *t)
{
	return t->count;
}

struct wg_peer *peer_table_first(struct peer_table *t)
{
	return t->first;
}

struct wg_peer *peer_create(uint64_t id, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN],
			    const struct noise_static_identity *identity)
{
	struct wg_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	memcpy(p->public_key, public_key, NOISE_PUBLIC_KEY_LEN);
	peer_set_id(p, "", id);
	pthread_mutex_init(&p->lock, NULL);
	noise_handshake_init(&p->handshake, identity, public_key, NULL);
	p->hs_entry.peer = p;
	p->hs_entry.type = INDEX_HANDSHAKE;
	cookie_maker_init(&p->cookie_maker, public_key);
	timers_init(&p->timers);
	atomic_init(&p->initiation_queued, false);
	atomic_init(&p->rx_bytes, 0);
	atomic_init(&p->tx_bytes, 0);
	return p;
}

void peer_set_id(struct wg_peer *p, const char *ifname, uint64_t id)
{
	char b64[KEY_B64_LEN + 1];

	p->id = id;
	key_to_base64(b64, p->public_key);
	snprintf(p->label, sizeof(p->label), "%s: peer %llu (%.8s…)", ifname, (unsigned long long)id, b64);
}

void peer_free(struct wg_peer *p)
{
	if (!p)
		return;
	peer_clear_staged(p);
	pthread_mutex_destroy(&p->lock);
	wg_wipe(p, sizeof(*p));
	free(p);
}

bool peer_stage(struct wg_peer *p, struct staged_packet *sp)
{
	bool dropped = false;

	if (p->staged_count == MAX_STAGED_PACKETS) {
		free(peer_unstage(p));
		dropped = true;
	}
	p->staged[(p->staged_head + p->staged_count) % MAX_STAGED_PACKETS] = sp;
	p->staged_count++;
	return dropped;
}

struct staged_packet *peer_unstage(struct wg_peer *p)
{
	struct staged_packet *sp;

	if (!p->staged_count)
		return NULL;
	sp = p->staged[p->staged_head];
	p->staged[p->staged_head] = NULL;
	p->staged_head = (p->staged_head + 1) % MAX_STAGED_PACKETS;
	p->staged_count--;
	return sp;
}

void peer_clear_staged(struct wg_peer *p)
{
	struct staged_packet *sp;

	while ((sp = peer_unstage(p)))
		free(sp);
}

struct staged_packet *staged_packet_new(const void *plain, size_t len)
{
	struct staged_packet *sp =
		malloc(sizeof(*sp) + DATA_PACKET_HEAD_ROOM + len + MESSAGE_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN);

	if (!sp)
		return NULL;
	sp->len = len;
	if (len)
		memcpy(sp->data + DATA_PACKET_HEAD_ROOM, plain, len);
	return sp;
}
