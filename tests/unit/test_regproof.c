/* The re-registration proof (src/common/regproof.c): a round trip, a
 * wrong key, a wrong nonce, a low-order device key, and a fixed vector
 * computed once outside this code (Python: cryptography's X25519 and
 * hashlib.blake2b) and pinned here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/key.h"
#include "common/regproof.h"

static const uint8_t NONCE[] = "nonce of the test vector";   /* 24 bytes, no NUL */
#define NONCE_LEN (sizeof(NONCE) - 1)

static void test_round_trip(void **state)
{
	uint8_t dev_priv[32], dev_pub[32], srv_priv[32], srv_pub[32], mac[REGPROOF_MAC_LEN];

	key_generate(dev_priv, dev_pub);
	key_generate(srv_priv, srv_pub);
	assert_int_equal(regproof_mac(mac, dev_priv, srv_pub, NONCE, NONCE_LEN), 0);
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, NONCE, NONCE_LEN), 0);
	/* a one-bit change of the mac */
	mac[7] ^= 0x10;
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, NONCE, NONCE_LEN), -EBADMSG);
}

static void test_wrong_key(void **state)
{
	uint8_t dev_priv[32], dev_pub[32], other_priv[32], other_pub[32];
	uint8_t srv_priv[32], srv_pub[32], srv2_priv[32], srv2_pub[32], mac[REGPROOF_MAC_LEN];

	key_generate(dev_priv, dev_pub);
	key_generate(other_priv, other_pub);
	key_generate(srv_priv, srv_pub);
	key_generate(srv2_priv, srv2_pub);
	/* made with another device's private key: not a proof for dev_pub */
	assert_int_equal(regproof_mac(mac, other_priv, srv_pub, NONCE, NONCE_LEN), 0);
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, NONCE, NONCE_LEN), -EBADMSG);
	assert_int_equal(regproof_verify(mac, srv_priv, other_pub, NONCE, NONCE_LEN), 0);
	/* made for another server's key */
	assert_int_equal(regproof_mac(mac, dev_priv, srv2_pub, NONCE, NONCE_LEN), 0);
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, NONCE, NONCE_LEN), -EBADMSG);
	assert_int_equal(regproof_verify(mac, srv2_priv, dev_pub, NONCE, NONCE_LEN), 0);
}

static void test_wrong_nonce(void **state)
{
	uint8_t dev_priv[32], dev_pub[32], srv_priv[32], srv_pub[32], mac[REGPROOF_MAC_LEN];
	uint8_t other[NONCE_LEN];

	key_generate(dev_priv, dev_pub);
	key_generate(srv_priv, srv_pub);
	memcpy(other, NONCE, NONCE_LEN);
	other[NONCE_LEN - 1] ^= 1;
	assert_int_equal(regproof_mac(mac, dev_priv, srv_pub, NONCE, NONCE_LEN), 0);
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, other, NONCE_LEN), -EBADMSG);
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, NONCE, NONCE_LEN - 1), -EBADMSG);
	/* nonce lengths out of bounds */
	assert_int_equal(regproof_mac(mac, dev_priv, srv_pub, NONCE, 0), -EINVAL);
	assert_int_equal(regproof_mac(mac, dev_priv, srv_pub, NULL, 4), -EINVAL);
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, NONCE, 0), -EBADMSG);
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, NONCE, REGPROOF_NONCE_MAX + 1), -EBADMSG);
}

static void test_low_order(void **state)
{
	static const uint8_t zero[32];
	/* a point of order 8 on curve25519 (also gives an all-zero result) */
	static const uint8_t order8[32] = {
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
	};
	uint8_t dev_priv[32], dev_pub[32], srv_priv[32], srv_pub[32], mac[REGPROOF_MAC_LEN];

	key_generate(dev_priv, dev_pub);
	key_generate(srv_priv, srv_pub);
	memset(mac, 0, sizeof(mac));
	/* server side: an all-zero device key is no proof, whatever the mac */
	assert_int_equal(regproof_verify(mac, srv_priv, zero, NONCE, NONCE_LEN), -EBADMSG);
	assert_int_equal(regproof_verify(mac, srv_priv, order8, NONCE, NONCE_LEN), -EBADMSG);
	/* client side: a low-order server key is refused */
	memset(mac, 0xaa, sizeof(mac));
	assert_int_equal(regproof_mac(mac, dev_priv, zero, NONCE, NONCE_LEN), -EINVAL);
	assert_int_equal(regproof_mac(mac, dev_priv, order8, NONCE, NONCE_LEN), -EINVAL);
	assert_int_equal(mac[0], 0xaa);   /* not written on failure */
}

/* dev_priv = 01 02 .. 20, server_priv = 40 41 .. 5f, nonce "nonce of the
 * test vector"; expected values from Python (cryptography 48, hashlib). */
static void test_vector(void **state)
{
	uint8_t dev_priv[32], srv_priv[32], dev_pub[32], srv_pub[32], mac[REGPROOF_MAC_LEN];
	static const uint8_t want_dev_pub[32] = {
		0x07, 0xa3, 0x7c, 0xbc, 0x14, 0x20, 0x93, 0xc8, 0xb7, 0x55, 0xdc, 0x1b, 0x10, 0xe8, 0x6c, 0xb4,
		0x26, 0x37, 0x4a, 0xd1, 0x6a, 0xa8, 0x53, 0xed, 0x0b, 0xdf, 0xc0, 0xb2, 0xb8, 0x6d, 0x1c, 0x7c,
	};
	static const uint8_t want_srv_pub[32] = {
		0x79, 0xa6, 0x31, 0xee, 0xde, 0x1b, 0xf9, 0xc9, 0x8f, 0x12, 0x03, 0x2c, 0xde, 0xad, 0xd0, 0xe7,
		0xa0, 0x79, 0x39, 0x8f, 0xc7, 0x86, 0xb8, 0x8c, 0xc8, 0x46, 0xec, 0x89, 0xaf, 0x85, 0xa5, 0x1a,
	};
	static const uint8_t want_mac[REGPROOF_MAC_LEN] = {
		0x43, 0x77, 0xe0, 0xc7, 0x36, 0x54, 0x9c, 0xdd, 0xcf, 0x56, 0x2a, 0x9c, 0x63, 0x14, 0x81, 0xda,
		0x00, 0xd9, 0x5a, 0x02, 0xed, 0xf7, 0x1d, 0x46, 0xb2, 0x73, 0x1a, 0x43, 0x9b, 0x17, 0x98, 0xda,
	};

	for (int i = 0; i < 32; i++) {
		dev_priv[i] = (uint8_t)(i + 1);
		srv_priv[i] = (uint8_t)(0x40 + i);
	}
	assert_int_equal(key_public_from_private(dev_pub, dev_priv), 0);
	assert_int_equal(key_public_from_private(srv_pub, srv_priv), 0);
	assert_memory_equal(dev_pub, want_dev_pub, 32);
	assert_memory_equal(srv_pub, want_srv_pub, 32);
	assert_int_equal(regproof_mac(mac, dev_priv, srv_pub, NONCE, NONCE_LEN), 0);
	assert_memory_equal(mac, want_mac, sizeof(mac));
	assert_int_equal(regproof_verify(want_mac, srv_priv, want_dev_pub, NONCE, NONCE_LEN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_wrong_nonce),
		cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_vector),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
