/* A chained hash table of index entries under one mutex. The indices are
 * random, so the low bits are a fine hash. */
#include "wg/index.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "wg/crypto.h"
#include "wg/keypair.h"

#define INDEX_BUCKETS (1u << 13)

struct index_table {
	pthread_mutex_t lock;
	struct index_entry *buckets[INDEX_BUCKETS];
};

int index_table_create(struct index_table **out)
{
	struct index_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void index_table_free(struct index_table *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct index_entry **bucket(struct index_table *t, uint32_t index)
{
	return &t->buckets[index & (INDEX_BUCKETS - 1)];
}

static struct index_entry *find_locked(struct index_table *t, uint32_t index)
{
	struct index_entry *e;

	for (e = *bucket(t, index); e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

static void unlink_locked(struct index_table *t, struct index_entry *e)
{
	struct index_entry **pp;

	if (!e->hashed)
		return;
	for (pp = bucket(t, e->index); *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->next = NULL;
	e->hashed = false;
}

static void link_locked(struct index_table *t, struct index_entry *e)
{
	struct index_entry **b = bucket(t, e->index);

	e->next = *b;
	*b = e;
	e->hashed = true;
}

uint32_t index_insert(struct index_table *t, struct index_entry *e)
{
	uint32_t index;

	pthread_mutex_lock(&t->lock);
	unlink_locked(t, e);
	do
		index = wg_random_u32();
	while (find_locked(t, index));
	e->index = index;
	link_locked(t, e);
	pthread_mutex_unlock(&t->lock);
	return index;
}

bool index_replace(struct index_table *t, struct index_entry *old, struct index_entry *new_entry)
{
	bool ok = false;

	pthread_mutex_lock(&t->lock);
	if (old->hashed) {
		uint32_t index = old->index;

		unlink_locked(t, old);
		unlink_locked(t, new_entry);
		new_entry->index = index;
		link_locked(t, new_entry);
		ok = true;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

void index_remove(struct index_table *t, struct index_entry *e)
{
	pthread_mutex_lock(&t->lock);
	unlink_locked(t, e);
	pthread_mutex_unlock(&t->lock);
}

struct wg_peer *index_lookup(struct index_table *t, uint32_t index, unsigned types,
			     enum index_type *type, struct keypair **kp)
{
	struct wg_peer *peer = NULL;
	struct index_entry *e;

	pthread_mutex_lock(&t->lock);
	e = find_locked(t, index);
	if (e && (e->type & types)) {
		peer = e->peer;
		if (type)
			*type = e->type;
		if (kp)
			*kp = e->type == INDEX_KEYPAIR ? keypair_get(e->keypair) : NULL;
	}
	pthread_mutex_unlock(&t->lock);
	return peer;
}
