/* An index over the first n elements of an array that its caller owns: from
 * a key (keylen bytes at a fixed offset in each element, or a NUL-terminated
 * string there) to the lowest position that holds it, which is what a
 * linear scan finds, in expected constant time. So that a pass over the
 * organization's n devices that looks each one up elsewhere costs O(n), not
 * O(n^2) (issue 15).
 *
 * Open addressing with linear probing, at most half full, hashed with
 * SipHash-2-4 under a random key per index (crypto_shorthash): the keys are
 * chosen by others (public keys, device ids) and must not be able to pile up
 * in one chain. When memory runs out, or when an element whose key another
 * element shares is removed (the next holder of the key is not known
 * cheaply), the index falls back to the linear scan until it is built
 * again: the answers stay the same, only slower. No threads or locks (one
 * user at a time); unit-tested against the scan. */
#ifndef NEXD_KEYINDEX_H
#define NEXD_KEYINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYINDEX_STRING 0               /* keylen: the key is a NUL-terminated string */

struct keyindex_slot;

/* Embedded by its users; the fields are keyindex.c's. */
struct keyindex {
	const uint8_t *base;            /* the array */
	size_t stride, offset, keylen;  /* element size, key offset in it, key bytes */
	size_t n;                       /* elements indexed: positions 0 .. n-1 */
	struct keyindex_slot *slots;    /* mask + 1 of them; NULL: none yet, or scanning */
	size_t mask;
	bool scanning;                  /* fell back to the linear scan until the next build */
	bool shared;                    /* some key is held by more than one element */
	uint8_t seed[16];
};

/* An empty index of elements of stride bytes whose key sits at offset. */
void keyindex_init(struct keyindex *ix, size_t stride, size_t offset, size_t keylen);
void keyindex_release(struct keyindex *ix);

/* Indexes the first n elements of base afresh. 0, or -ENOMEM: then the
 * index answers by scanning (the same answers). */
int keyindex_build(struct keyindex *ix, const void *base, size_t n);
/* The array moved (realloc); same elements. */
void keyindex_rebase(struct keyindex *ix, const void *base);
/* The element at position n (the old count) was appended, in place. */
void keyindex_append(struct keyindex *ix);
/* The element at pos is about to be removed by moving the last element
 * into its place (or by dropping it, when it is the last): call before the
 * array changes. */
void keyindex_swap_remove(struct keyindex *ix, size_t pos);

/* The lowest position whose key is key; false when none. */
bool keyindex_find(const struct keyindex *ix, const void *key, size_t *pos);

#endif
