#include "nexd/keyindex.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 16

struct keyindex_slot {
	uint32_t pos1;                  /* position + 1; 0: empty */
	uint32_t tag;                   /* the hash's upper half, to skip most compares */
};

void keyindex_init(struct keyindex *ix, size_t stride, size_t offset, size_t keylen)
{
	memset(ix, 0, sizeof(*ix));
	ix->stride = stride;
	ix->offset = offset;
	ix->keylen = keylen;
	/* sodium_init fails only without a random source, which nexd's start
	 * (wg_init) already refused; then the seed stays zero: correct, and
	 * merely predictable. */
	if (sodium_init() >= 0)
		randombytes_buf(ix->seed, sizeof(ix->seed));
}

void keyindex_release(struct keyindex *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->mask = 0;
	ix->n = 0;
	ix->base = NULL;
	ix->scanning = false;
	ix->shared = false;
}

static const uint8_t *key_at(const struct keyindex *ix, size_t pos)
{
	return ix->base + pos * ix->stride + ix->offset;
}

static bool key_is(const struct keyindex *ix, size_t pos, const void *key)
{
	const uint8_t *k = key_at(ix, pos);

	return ix->keylen == KEYINDEX_STRING ? !strcmp((const char *)k, key) : !memcmp(k, key, ix->keylen);
}

static uint64_t hash(const struct keyindex *ix, const void *key)
{
	size_t len = ix->keylen == KEYINDEX_STRING ? strlen(key) : ix->keylen;
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, len, ix->seed);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* The slot that holds key, or the empty slot where it would go. */
static size_t probe(const struct keyindex *ix, const void *key, uint64_t h)
{
	size_t i = (size_t)h & ix->mask;
	uint32_t tag = (uint32_t)(h >> 32);

	while (ix->slots[i].pos1 &&
	       (ix->slots[i].tag != tag || !key_is(ix, ix->slots[i].pos1 - 1, key)))
		i = (i + 1) & ix->mask;
	return i;
}

/* Indexes position pos unless a lower one holds its key already. */
static void insert(struct keyindex *ix, size_t pos)
{
	const uint8_t *key = key_at(ix, pos);
	uint64_t h = hash(ix, key);
	size_t i = probe(ix, key, h);

	if (ix->slots[i].pos1) {
		ix->shared = true;
		return;
	}
	ix->slots[i].pos1 = (uint32_t)pos + 1;
	ix->slots[i].tag = (uint32_t)(h >> 32);
}

static void fall_back(struct keyindex *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->mask = 0;
	ix->scanning = true;
}

/* A table for the first ix->n elements, at most half full with room for
 * one more. 0 or -ENOMEM (then scanning). */
static int rehash(struct keyindex *ix)
{
	size_t size = MIN_SLOTS;

	if (ix->n >= UINT32_MAX / 4) {
		fall_back(ix);
		return -ENOMEM;
	}
	while (size < 2 * (ix->n + 1))
		size *= 2;
	free(ix->slots);
	ix->slots = calloc(size, sizeof(*ix->slots));
	if (!ix->slots) {
		fall_back(ix);
		return -ENOMEM;
	}
	ix->mask = size - 1;
	ix->shared = false;
	for (size_t pos = 0; pos < ix->n; pos++)
		insert(ix, pos);
	return 0;
}

int keyindex_build(struct keyindex *ix, const void *base, size_t n)
{
	ix->base = base;
	ix->n = n;
	ix->scanning = false;
	return rehash(ix);
}

void keyindex_rebase(struct keyindex *ix, const void *base)
{
	ix->base = base;
}

void keyindex_append(struct keyindex *ix)
{
	ix->n++;
	if (ix->scanning)
		return;
	if (!ix->slots || 2 * (ix->n + 1) > ix->mask + 1) {
		rehash(ix);  /* -ENOMEM: scanning */
		return;
	}
	insert(ix, ix->n - 1);
}

/* Empties slot i and moves later members of its cluster back where their
 * probe finds them (deletion without tombstones, for linear probing). */
static void slot_clear(struct keyindex *ix, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t home;

		ix->slots[i].pos1 = 0;
		for (;;) {
			j = (j + 1) & ix->mask;
			if (!ix->slots[j].pos1)
				return;
			home = (size_t)hash(ix, key_at(ix, ix->slots[j].pos1 - 1)) & ix->mask;
			/* j's entry may stay unless its home lies cyclically in (i, j] */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		ix->slots[i] = ix->slots[j];
		i = j;
	}
}

void keyindex_swap_remove(struct keyindex *ix, size_t pos)
{
	size_t last = ix->n - 1;

	if (pos >= ix->n)
		return;
	if (ix->shared)
		fall_back(ix);  /* another element may hold the key next */
	if (!ix->scanning && ix->slots) {
		const uint8_t *key = key_at(ix, pos);

		slot_clear(ix, probe(ix, key, hash(ix, key)));
		if (pos != last) {
			key = key_at(ix, last);
			ix->slots[probe(ix, key, hash(ix, key))].pos1 = (uint32_t)pos + 1;
		}
	}
	ix->n--;
}

bool keyindex_find(const struct keyindex *ix, const void *key, size_t *pos)
{
	size_t i;

	if (!ix->slots) {
		for (size_t p = 0; p < ix->n; p++) {
			if (key_is(ix, p, key)) {
				*pos = p;
				return true;
			}
		}
		return false;
	}
	i = probe(ix, key, hash(ix, key));
	if (!ix->slots[i].pos1)
		return false;
	*pos = ix->slots[i].pos1 - 1;
	return true;
}
