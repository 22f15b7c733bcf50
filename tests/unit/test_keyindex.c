/* The key index answers what a linear scan answers (the lowest position
 * with the key, or none), on a few hundred elements, through builds,
 * appends, moves of the array and swap-removes, with keys that several
 * elements share and keys that no element has; 32-byte keys and string
 * keys; and after it falls back to scanning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/keyindex.h"

struct elem {
	uint32_t tag;
	uint8_t key[32];
	char name[40];
	uint16_t pad;
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Key k of a pool: the keys differ in one byte only, the names are short
 * strings, so that hashing, not the bytes, tells them apart. */
static void key_of(uint32_t k, uint8_t key[32], char name[40])
{
	memset(key, 0xab, 32);
	key[17] = (uint8_t)k;
	key[31] = (uint8_t)(k >> 8);
	snprintf(name, 40, "00000000-0000-4000-8000-%012x", k);
}

static void set_elem(struct elem *e, uint32_t k)
{
	memset(e, 0, sizeof(*e));
	e->tag = k;
	key_of(k, e->key, e->name);
}

static bool scan(const struct elem *a, size_t n, const void *key, bool string, size_t *pos)
{
	for (size_t i = 0; i < n; i++) {
		if (string ? !strcmp(a[i].name, key) : !memcmp(a[i].key, key, 32)) {
			*pos = i;
			return true;
		}
	}
	return false;
}

/* Every key of the pool (present or not): the index agrees with the scan. */
static void check_all(const struct keyindex *ix, const struct elem *a, size_t n, uint32_t pool, bool string)
{
	for (uint32_t k = 0; k < pool; k++) {
		uint8_t key[32];
		char name[40];
		size_t want = 0, got = 0;
		bool w, g;

		key_of(k, key, name);
		w = scan(a, n, string ? (const void *)name : key, string, &want);
		g = keyindex_find(ix, string ? (const void *)name : key, &got);
		if (w != g || (w && want != got))
			fail_msg("key %u: scan %d@%zu, index %d@%zu (n %zu)", k, w, want, g, got, n);
	}
}

static void init(struct keyindex *ix, bool string)
{
	if (string)
		keyindex_init(ix, sizeof(struct elem), offsetof(struct elem, name), KEYINDEX_STRING);
	else
		keyindex_init(ix, sizeof(struct elem), offsetof(struct elem, key), 32);
}

/* Random appends, removes (by position) and reallocations, starting from a
 * built array of n0 elements. The keys: from a pool, so that some are
 * shared (pool 0: each new, so that none is, and the index keeps hashing). */
static void random_ops(bool string, uint32_t pool, size_t n0, int ops, uint64_t seed)
{
	struct keyindex ix;
	size_t cap = n0 + 8, n = n0;
	struct elem *a = malloc(cap * sizeof(*a));
	uint64_t s = seed;
	uint32_t next = 0, keys = pool ? pool : (uint32_t)n0 + (uint32_t)ops + 50;

	assert_non_null(a);
	for (size_t i = 0; i < n0; i++)
		set_elem(&a[i], pool ? (uint32_t)(rnd(&s) % pool) : next++);
	init(&ix, string);
	assert_int_equal(keyindex_build(&ix, a, n), 0);
	check_all(&ix, a, n, keys, string);
	for (int op = 0; op < ops; op++) {
		if (n && rnd(&s) % 100 < 45) {
			size_t pos = rnd(&s) % n;

			keyindex_swap_remove(&ix, pos);
			a[pos] = a[n - 1];
			memset(&a[n - 1], 0x5a, sizeof(a[0])); /* what stays there must not matter */
			n--;
		} else {
			if (n == cap) {
				cap *= 2;
				a = realloc(a, cap * sizeof(*a));
				assert_non_null(a);
				keyindex_rebase(&ix, a);
			}
			set_elem(&a[n++], pool ? (uint32_t)(rnd(&s) % pool) : next++);
			keyindex_append(&ix);
		}
		if (op % 32 == 0 || n < 4)
			check_all(&ix, a, n, keys, string);
	}
	check_all(&ix, a, n, keys, string);
	if (!pool)
		assert_false(ix.scanning);
	/* built again: hashing again, whatever it fell back to */
	assert_int_equal(keyindex_build(&ix, a, n), 0);
	assert_false(ix.scanning);
	check_all(&ix, a, n, keys, string);
	keyindex_release(&ix);
	free(a);
}

/* Unique keys: removes keep hashing (no fall-back), down to empty. */
static void unique_keys(void **state)
{
	struct keyindex ix;
	struct elem *a = calloc(400, sizeof(*a));
	uint64_t s = 7;
	size_t n = 400;

	(void)state;
	assert_non_null(a);
	for (uint32_t i = 0; i < 400; i++)
		set_elem(&a[i], i * 3);   /* keys 0, 3, 6 ...: the others are missing */
	init(&ix, false);
	assert_int_equal(keyindex_build(&ix, a, n), 0);
	assert_false(ix.shared);
	check_all(&ix, a, n, 1300, false);
	while (n) {
		size_t pos = rnd(&s) % n;

		keyindex_swap_remove(&ix, pos);
		a[pos] = a[n - 1];
		n--;
		assert_false(ix.scanning);
		if (n % 7 == 0)
			check_all(&ix, a, n, 1300, false);
	}
	check_all(&ix, a, 0, 1300, false);
	/* and grown again from nothing */
	for (uint32_t i = 0; i < 300; i++) {
		set_elem(&a[n++], i);
		keyindex_append(&ix);
	}
	assert_false(ix.scanning);
	check_all(&ix, a, n, 400, false);
	keyindex_release(&ix);
	free(a);
}

/* Shared keys: the lowest position wins; removing one falls back to the
 * scan, which answers the same. */
static void shared_keys(void **state)
{
	struct keyindex ix;
	struct elem a[6];
	size_t pos;
	uint8_t key[32];
	char name[40];

	(void)state;
	set_elem(&a[0], 1);
	set_elem(&a[1], 2);
	set_elem(&a[2], 1);
	set_elem(&a[3], 3);
	set_elem(&a[4], 2);
	init(&ix, false);
	assert_int_equal(keyindex_build(&ix, a, 5), 0);
	assert_true(ix.shared);
	key_of(1, key, name);
	assert_true(keyindex_find(&ix, key, &pos));
	assert_int_equal(pos, 0);
	key_of(2, key, name);
	assert_true(keyindex_find(&ix, key, &pos));
	assert_int_equal(pos, 1);
	key_of(9, key, name);
	assert_false(keyindex_find(&ix, key, &pos));
	/* an appended holder of a key does not win over the first */
	set_elem(&a[5], 3);
	keyindex_append(&ix);
	key_of(3, key, name);
	assert_true(keyindex_find(&ix, key, &pos));
	assert_int_equal(pos, 3);
	/* position 0 goes, 5 (key 3) takes its place: key 1 is now at 2 */
	keyindex_swap_remove(&ix, 0);
	a[0] = a[5];
	assert_true(ix.scanning);
	check_all(&ix, a, 5, 10, false);
	key_of(1, key, name);
	assert_true(keyindex_find(&ix, key, &pos));
	assert_int_equal(pos, 2);
	key_of(3, key, name);
	assert_true(keyindex_find(&ix, key, &pos));
	assert_int_equal(pos, 0);
	keyindex_release(&ix);
}

static void empty(void **state)
{
	struct keyindex ix;
	uint8_t key[32] = { 0 };
	size_t pos;

	(void)state;
	init(&ix, false);
	assert_false(keyindex_find(&ix, key, &pos));   /* never built */
	assert_int_equal(keyindex_build(&ix, NULL, 0), 0);
	assert_false(keyindex_find(&ix, key, &pos));
	keyindex_swap_remove(&ix, 0);                  /* nothing there: nothing done */
	assert_int_equal(ix.n, 0);
	keyindex_release(&ix);
	keyindex_release(&ix);                         /* twice is harmless */
}

static void random_binary(void **state)
{
	(void)state;
	random_ops(false, 0, 300, 3000, 1);      /* unique keys: hashing throughout */
	random_ops(false, 600, 300, 3000, 2);    /* some shared: falls back, same answers */
	random_ops(false, 150, 300, 3000, 3);    /* many shared */
	random_ops(false, 0, 0, 2000, 4);        /* from nothing */
}

static void random_strings(void **state)
{
	(void)state;
	random_ops(true, 0, 300, 3000, 5);
	random_ops(true, 150, 300, 3000, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unique_keys),
		cmocka_unit_test(shared_keys),
		cmocka_unit_test(empty),
		cmocka_unit_test(random_binary),
		cmocka_unit_test(random_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
