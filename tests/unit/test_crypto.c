/* The primitives of src/wg/crypto.c against published vectors (RFC 7748,
 * RFC 7693, RFC 8439, draft-irtf-cfrg-xchacha-03) and against values
 * computed with Python's hashlib/hmac (each test says how). The OpenSSL data
 * path is cross-checked against the libsodium handshake AEAD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"
#include "wg/crypto.h"

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("bad hex digit '%c'", c);
	return -1;
}

/* Test vectors written as hex, into out; returns the byte count. */
static size_t unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t n = 0;

	assert_int_equal(strlen(hex) % 2, 0);
	for (; hex[0]; hex += 2) {
		assert_true(n < max);
		out[n++] = (uint8_t)(nibble(hex[0]) << 4 | nibble(hex[1]));
	}
	return n;
}

#define UNHEX(buf, hex) unhex((buf), sizeof(buf), (hex))

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[512];
	size_t n = UNHEX(want, hex);

	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
}

/* ---- X25519 ---- */

static void test_x25519_rfc7748_5_2(void **state)
{
	uint8_t k[32], u[32], out[32];

	(void)state;
	UNHEX(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	UNHEX(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	assert_int_equal(wg_dh(out, k, u), 0);
	assert_hex(out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");

	UNHEX(k, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	UNHEX(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	assert_int_equal(wg_dh(out, k, u), 0);
	assert_hex(out, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

static void test_x25519_rfc7748_6_1(void **state)
{
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];
	const char *shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
	uint8_t nine[32] = { 9 };

	(void)state;
	UNHEX(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	UNHEX(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_int_equal(wg_dh(apub, a, nine), 0);
	assert_hex(apub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(wg_dh(bpub, b, nine), 0);
	assert_hex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(wg_dh(s1, a, bpub), 0);
	assert_hex(s1, 32, shared);
	assert_int_equal(wg_dh(s2, b, apub), 0);
	assert_hex(s2, 32, shared);
}

static void test_x25519_low_order_rejected(void **state)
{
	uint8_t priv[32], pub[32], out[32];
	uint8_t zero[32] = { 0 }, one[32] = { 1 };

	(void)state;
	wg_dh_generate(priv, pub);
	/* clamped */
	assert_int_equal(priv[0] & 7, 0);
	assert_int_equal(priv[31] & 0xc0, 0x40);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(wg_dh(out, priv, zero), -EINVAL);
	assert_int_equal(wg_dh(out, priv, one), -EINVAL);
	/* out untouched on failure */
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xaa);
}

static void test_x25519_generate_agrees(void **state)
{
	uint8_t a[32], apub[32], b[32], bpub[32], s1[32], s2[32];

	(void)state;
	wg_dh_generate(a, apub);
	wg_dh_generate(b, bpub);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(wg_dh(s1, a, bpub), 0);
	assert_int_equal(wg_dh(s2, b, apub), 0);
	assert_memory_equal(s1, s2, 32);
}

/* ---- BLAKE2s, MAC, HMAC, KDF ---- */

static void test_blake2s_rfc7693_abc(void **state)
{
	uint8_t out[32];

	(void)state;
	wg_hash(out, "abc", 3);
	assert_hex(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

/* Values from Python 3:
 *   hashlib.blake2s(b"hello " + b"world").hexdigest()
 *   hashlib.blake2s(b"abc", key=bytes(range(16)), digest_size=16).hexdigest()
 *   hashlib.blake2s(b"\0\1\2", key=bytes(range(32)), digest_size=16).hexdigest() */
static void test_blake2s_python(void **state)
{
	uint8_t key[32], msg[64], out[32], mac[16];

	(void)state;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;

	wg_hash2(out, "hello ", 6, "world", 5);
	assert_hex(out, 32, "9aec6806794561107e594b1f6a8a6b0c92a0cba9acf5e5e93cca06f781813b0b");
	wg_hash(out, "hello world", 11);
	assert_hex(out, 32, "9aec6806794561107e594b1f6a8a6b0c92a0cba9acf5e5e93cca06f781813b0b");

	wg_mac(mac, key, 16, "abc", 3);
	assert_hex(mac, 16, "75296c2d2c0f51210b383f386bc8b1ff");
	wg_mac(mac, key, 32, msg, 3);
	assert_hex(mac, 16, "1e2a79436a7796a3e9826bfedf07659f");
}

/* Values from Python 3: hmac.new(key, msg, hashlib.blake2s).hexdigest() with
 * key = bytes(range(32)) (and bytes(range(100)) for the long key, which HMAC
 * hashes first), msg = b"The quick brown fox" (and b""). */
static void test_hmac_python(void **state)
{
	uint8_t key[100], out[32];

	(void)state;
	for (int i = 0; i < 100; i++)
		key[i] = (uint8_t)i;
	wg_hmac(out, key, 32, "The quick brown fox", 19);
	assert_hex(out, 32, "22bcaf49c813868721c17ffc23f598e97283f564a578996cb149fad35ed8d00c");
	wg_hmac(out, key, 100, "The quick brown fox", 19);
	assert_hex(out, 32, "421d0172d264b9c8e3bc443c2320b3d80cd439818d0e3de239bed6fc1f2d5f85");
	wg_hmac(out, key, 32, NULL, 0);
	assert_hex(out, 32, "e2641d24dfa8dd89e8cb77f1cdc77d8c006e5bebdfc4d6a3a3a6f8d5b7586fb0");
}

/* Values from Python 3, with H(k, d) = hmac.new(k, d, hashlib.blake2s).digest(),
 * ck = bytes(range(0x40, 0x60)), input = b"kdf input":
 *   t0 = H(ck, input); t1 = H(t0, b"\x01"); t2 = H(t0, t1 + b"\x02"); t3 = H(t0, t2 + b"\x03") */
static void test_kdf_python(void **state)
{
	const char *t1hex = "3269bb956dd857aa8b5f36ae8f147886ad780bdd9e4169250a47bb75652fb07e";
	const char *t2hex = "cda10c633d38be974f2dc36296a574dd2bc528a28b72abfd9c26b6d168d4425b";
	const char *t3hex = "10e197f6c9b5a3ae96a0a0aff020ece59b7c84537b2e6c87c4adc4520596f09f";
	uint8_t ck[32], t1[32], t2[32], t3[32];

	(void)state;
	for (int i = 0; i < 32; i++)
		ck[i] = (uint8_t)(0x40 + i);
	wg_kdf(t1, t2, t3, ck, "kdf input", 9);
	assert_hex(t1, 32, t1hex);
	assert_hex(t2, 32, t2hex);
	assert_hex(t3, 32, t3hex);

	memset(t1, 0, 32);
	memset(t2, 0, 32);
	memset(t3, 0, 32);
	wg_kdf(t1, NULL, NULL, ck, "kdf input", 9);
	assert_hex(t1, 32, t1hex);
	wg_kdf(NULL, t2, NULL, ck, "kdf input", 9);
	assert_hex(t2, 32, t2hex);
	wg_kdf(NULL, NULL, t3, ck, "kdf input", 9);
	assert_hex(t3, 32, t3hex);

	/* outputs may alias the chaining key */
	wg_kdf(ck, t2, NULL, ck, "kdf input", 9);
	assert_hex(ck, 32, t1hex);
	assert_hex(t2, 32, t2hex);
}

/* ---- ChaCha20-Poly1305 ---- */

static const char a5_key[] = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const char a5_aad[] = "f33388860000000000004e91";
static const char a5_ct[] =
	"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0"
	"bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	"9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e9"
	"9040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	"0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130"
	"305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b"
	"eead9d67890cbb22392336fea1851f38"; /* the tag */
static const char a5_plain[] =
	"Internet-Drafts are draft documents valid for a maximum of six months and may be updated, "
	"replaced, or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts "
	"as reference material or to cite them other than as /\xe2\x80\x9cwork in progress./\xe2\x80\x9d";
/* RFC 8439's nonce 00000000 0102030405060708 is WireGuard's layout: four
 * zero bytes, then this counter in little endian. */
#define A5_COUNTER 0x0807060504030201ULL

static void test_aead_rfc8439_a5(void **state)
{
	uint8_t key[32], aad[12], ct[281], out[281];

	(void)state;
	UNHEX(key, a5_key);
	UNHEX(aad, a5_aad);
	assert_int_equal(UNHEX(ct, a5_ct), sizeof(ct));
	assert_int_equal(strlen(a5_plain), 265);

	assert_int_equal(wg_aead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), A5_COUNTER, key), 0);
	assert_memory_equal(out, a5_plain, 265);

	wg_aead_encrypt(out, a5_plain, 265, aad, sizeof(aad), A5_COUNTER, key);
	assert_memory_equal(out, ct, sizeof(ct));

	/* in place */
	memcpy(out, a5_plain, 265);
	wg_aead_encrypt(out, out, 265, aad, sizeof(aad), A5_COUNTER, key);
	assert_memory_equal(out, ct, sizeof(ct));
	assert_int_equal(wg_aead_decrypt(out, out, sizeof(ct), aad, sizeof(aad), A5_COUNTER, key), 0);
	assert_memory_equal(out, a5_plain, 265);

	/* wrong AD, nonce, tag, key: rejected and the output wiped */
	aad[0] ^= 1;
	memset(out, 0x55, sizeof(out));
	assert_int_equal(wg_aead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), A5_COUNTER, key), -EBADMSG);
	for (size_t i = 0; i < 265; i++)
		assert_int_equal(out[i], 0);
	aad[0] ^= 1;
	assert_int_equal(wg_aead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), A5_COUNTER + 1, key), -EBADMSG);
	ct[280] ^= 0x80;
	assert_int_equal(wg_aead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), A5_COUNTER, key), -EBADMSG);
	ct[280] ^= 0x80;
	key[31] ^= 1;
	assert_int_equal(wg_aead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), A5_COUNTER, key), -EBADMSG);
	key[31] ^= 1;
	assert_int_equal(wg_aead_decrypt(out, ct, 15, aad, sizeof(aad), A5_COUNTER, key), -EBADMSG);
	assert_int_equal(wg_aead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), A5_COUNTER, key), 0);
}

static void test_aead_empty(void **state)
{
	uint8_t key[32], tag[16], dummy[1];

	(void)state;
	wg_random(key, sizeof(key));
	wg_aead_encrypt(tag, NULL, 0, NULL, 0, 0, key);
	assert_int_equal(wg_aead_decrypt(dummy, tag, 16, NULL, 0, 0, key), 0);
	assert_int_equal(wg_aead_decrypt(dummy, tag, 16, NULL, 0, 1, key), -EBADMSG);
	assert_int_equal(wg_aead_decrypt(dummy, tag, 16, "x", 1, 0, key), -EBADMSG);
}

/* The OpenSSL data path must produce exactly what libsodium produces with
 * empty associated data, for every length a packet can have. */
static void test_data_seal_open_cross(void **state)
{
	enum { MAX = 1500 };
	uint8_t key[32], key2[32], *plain, *ref, *ct, *buf, *pt;
	uint64_t nonce;

	(void)state;
	plain = malloc(MAX);
	ref = malloc(MAX + 16);
	ct = malloc(MAX + 16);
	buf = malloc(MAX + 16);
	pt = malloc(MAX + 16);
	assert_non_null(plain);
	assert_non_null(ref);
	assert_non_null(ct);
	assert_non_null(buf);
	assert_non_null(pt);
	wg_random(key, sizeof(key));
	wg_random(key2, sizeof(key2));

	for (size_t len = 0; len <= MAX; len += (len < 80 ? 1 : 37)) {
		/* alternate keys so re-keying is exercised too */
		const uint8_t *k = (len & 1) ? key : key2;

		wg_random(plain, len);
		nonce = ((uint64_t)wg_random_u32() << 32) | wg_random_u32();
		wg_aead_encrypt(ref, plain, len, NULL, 0, nonce, k);

		assert_int_equal(wg_data_seal(k, nonce, ct, plain, len), 0);
		assert_memory_equal(ct, ref, len + 16);
		assert_int_equal(wg_data_open(k, nonce, pt, ct, len + 16), 0);
		if (len)
			assert_memory_equal(pt, plain, len);

		/* in place, both ways */
		memcpy(buf, plain, len);
		assert_int_equal(wg_data_seal(k, nonce, buf, buf, len), 0);
		assert_memory_equal(buf, ref, len + 16);
		assert_int_equal(wg_data_open(k, nonce, buf, buf, len + 16), 0);
		if (len)
			assert_memory_equal(buf, plain, len);

		/* libsodium opens what OpenSSL sealed */
		assert_int_equal(wg_aead_decrypt(pt, ct, len + 16, NULL, 0, nonce, k), 0);
		if (len)
			assert_memory_equal(pt, plain, len);

		/* one flipped bit anywhere fails, and the context still works after */
		{
			size_t at = wg_random_uniform((uint32_t)(len + 16));

			memcpy(buf, ct, len + 16);
			buf[at] ^= (uint8_t)(1u << wg_random_uniform(8));
			memset(pt, 0xa5, len + 16);
			assert_int_equal(wg_data_open(k, nonce, pt, buf, len + 16), -EBADMSG);
			/* the tag is checked before anything is decrypted */
			for (size_t j = 0; j < len; j++)
				assert_int_equal(pt[j], 0xa5);
			assert_int_equal(wg_data_open(k, nonce + 1, pt, ct, len + 16), -EBADMSG);
			assert_int_equal(wg_data_open((len & 1) ? key2 : key, nonce, pt, ct, len + 16), -EBADMSG);
			assert_int_equal(wg_data_open(k, nonce, pt, ct, len + 16), 0);
		}
	}
	assert_int_equal(wg_data_open(key, 0, pt, ct, 15), -EBADMSG);

	free(plain);
	free(ref);
	free(ct);
	free(buf);
	free(pt);
}

/* The lead variant seals as wg_data_seal does and leaves its scratch zero. */
static void test_data_seal_lead(void **state)
{
	enum { MAX = 2100 };
	uint8_t key[32], *mem = malloc(WG_DATA_SEAL_LEAD + MAX + 16 + 8), *buf = mem + WG_DATA_SEAL_LEAD;
	uint8_t plain[MAX], ref[MAX + 16];

	(void)state;
	assert_non_null(mem);
	wg_random(key, sizeof(key));
	for (size_t len = 0; len <= MAX; len += (len < 70 ? 1 : 53)) {
		uint64_t nonce = ((uint64_t)wg_random_u32() << 32) | wg_random_u32();

		wg_random(plain, len);
		memset(mem, 0xee, WG_DATA_SEAL_LEAD);
		memcpy(buf, plain, len);
		memset(buf + len + 16, 0x5a, 8);
		assert_int_equal(wg_data_seal(key, nonce, ref, plain, len), 0);
		assert_int_equal(wg_data_seal_lead(key, nonce, buf, len), 0);
		assert_memory_equal(buf, ref, len + 16);
		for (size_t i = 0; i < WG_DATA_SEAL_LEAD; i++)
			assert_int_equal(mem[i], 0);
		for (size_t i = 0; i < 8; i++)
			assert_int_equal(buf[len + 16 + i], 0x5a);
		assert_int_equal(wg_data_open(key, nonce, buf, buf, len + 16), 0);
		if (len)
			assert_memory_equal(buf, plain, len);
	}
	free(mem);
}

static void test_data_rfc8439_a5_no_ad(void **state)
{
	/* The A.5 key and nonce with no AD: compare OpenSSL to libsodium on the
	 * RFC's plaintext, and check the counter maps to the RFC's nonce by
	 * decrypting the RFC ciphertext's body (the keystream does not depend on
	 * the AD). */
	uint8_t key[32], ct[281], ref[281], out[281];

	(void)state;
	UNHEX(key, a5_key);
	UNHEX(ct, a5_ct);
	wg_aead_encrypt(ref, a5_plain, 265, NULL, 0, A5_COUNTER, key);
	assert_int_equal(wg_data_seal(key, A5_COUNTER, out, (const uint8_t *)a5_plain, 265), 0);
	assert_memory_equal(out, ref, sizeof(ref));
	assert_memory_equal(out, ct, 265);
}

struct thread_arg {
	uint8_t key[32];
	int failures;
};

static void *data_thread(void *p)
{
	struct thread_arg *a = p;
	uint8_t plain[200], ct[216], ref[216], pt[200];

	for (int i = 0; i < 200; i++) {
		wg_random(plain, sizeof(plain));
		wg_aead_encrypt(ref, plain, sizeof(plain), NULL, 0, (uint64_t)i, a->key);
		if (wg_data_seal(a->key, (uint64_t)i, ct, plain, sizeof(plain)) != 0 ||
		    memcmp(ct, ref, sizeof(ct)) != 0 ||
		    wg_data_open(a->key, (uint64_t)i, pt, ct, sizeof(ct)) != 0 ||
		    memcmp(pt, plain, sizeof(pt)) != 0)
			a->failures++;
	}
	return NULL;
}

/* Threads with their own contexts and keys, at the same time. */
static void test_data_threads(void **state)
{
	enum { N = 4 };
	pthread_t th[N];
	struct thread_arg args[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		wg_random(args[i].key, 32);
		args[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, data_thread, &args[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
}

/* ---- XChaCha20-Poly1305 ---- */

/* draft-irtf-cfrg-xchacha-03, section A.3.1 */
static void test_xaead_draft_a3_1(void **state)
{
	static const char plain[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
				    "for the future, sunscreen would be it.";
	uint8_t key[32], nonce[24], aad[12], ct[130], out[130];

	(void)state;
	UNHEX(key, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	UNHEX(nonce, "404142434445464748494a4b4c4d4e4f5051525354555657");
	UNHEX(aad, "50515253c0c1c2c3c4c5c6c7");
	assert_int_equal(strlen(plain), 114);
	assert_int_equal(UNHEX(ct, "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
				   "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
				   "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
				   "21f9664c97637da9768812f615c68b13b52e"
				   "c0875924c1c7987947deafd8780acf49"),
			 sizeof(ct));

	wg_xaead_encrypt(out, plain, 114, aad, sizeof(aad), nonce, key);
	assert_memory_equal(out, ct, sizeof(ct));
	assert_int_equal(wg_xaead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), nonce, key), 0);
	assert_memory_equal(out, plain, 114);

	nonce[23] ^= 1;
	assert_int_equal(wg_xaead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), nonce, key), -EBADMSG);
	nonce[23] ^= 1;
	ct[0] ^= 1;
	assert_int_equal(wg_xaead_decrypt(out, ct, sizeof(ct), aad, sizeof(aad), nonce, key), -EBADMSG);
	ct[0] ^= 1;
	assert_int_equal(wg_xaead_decrypt(out, ct, 15, aad, sizeof(aad), nonce, key), -EBADMSG);
}

/* ---- misc ---- */

static void test_equal_wipe_random(void **state)
{
	uint8_t a[32], b[32];
	uint32_t seen_high = 0;

	(void)state;
	wg_random(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(wg_equal(a, b, sizeof(a)));
	b[31] ^= 1;
	assert_false(wg_equal(a, b, sizeof(a)));
	wg_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(a[i], 0);
	for (int i = 0; i < 1000; i++) {
		uint32_t v = wg_random_uniform(10);

		assert_true(v < 10);
		seen_high |= 1u << v;
	}
	assert_int_equal(seen_high, 0x3ff);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_tai64n(void **state)
{
	uint8_t t1[12], t2[12];
	uint64_t before, after;

	(void)state;
	before = (uint64_t)time(NULL);
	wg_tai64n_now(t1);
	after = (uint64_t)time(NULL);
	assert_true(be64(t1) >= 0x400000000000000aULL + before);
	assert_true(be64(t1) <= 0x400000000000000aULL + after);
	assert_true(be32(t1 + 8) < 1000000000U);
	assert_int_equal(be32(t1 + 8) & ((1U << 24) - 1), 0); /* rounded to 2^24 ns */

	/* monotonic: never smaller, and strictly greater after 2^24 ns */
	for (int i = 0; i < 100; i++) {
		wg_tai64n_now(t2);
		assert_true(memcmp(t2, t1, 12) >= 0);
		memcpy(t1, t2, 12);
	}
	time_sleep_ns(20 * NSEC_PER_MSEC);
	wg_tai64n_now(t2);
	assert_true(memcmp(t2, t1, 12) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748_5_2),
		cmocka_unit_test(test_x25519_rfc7748_6_1),
		cmocka_unit_test(test_x25519_low_order_rejected),
		cmocka_unit_test(test_x25519_generate_agrees),
		cmocka_unit_test(test_blake2s_rfc7693_abc),
		cmocka_unit_test(test_blake2s_python),
		cmocka_unit_test(test_hmac_python),
		cmocka_unit_test(test_kdf_python),
		cmocka_unit_test(test_aead_rfc8439_a5),
		cmocka_unit_test(test_aead_empty),
		cmocka_unit_test(test_data_seal_open_cross),
		cmocka_unit_test(test_data_rfc8439_a5_no_ad),
		cmocka_unit_test(test_data_seal_lead),
		cmocka_unit_test(test_data_threads),
		cmocka_unit_test(test_xaead_draft_a3_1),
		cmocka_unit_test(test_equal_wipe_random),
		cmocka_unit_test(test_tai64n),
	};

	if (wg_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
