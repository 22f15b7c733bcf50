/* sealbench: the data path's ChaCha20-Poly1305 on full-size packets.
 *
 *   sealbench [SECONDS-PER-CASE [PACKET-BYTES]]     (default 1 s, 1420 bytes)
 *
 * One line per case, ns per packet and Gbit/s of plaintext:
 *   - OpenSSL's chacha20-poly1305 EVP cipher (what the data path used
 *     first), libsodium's IETF AEAD, and ours (wg_data_seal/open: RFC 8439's
 *     construction over OpenSSL's ChaCha20 and Poly1305; in place with a
 *     64-byte lead as the send path seals), one thread;
 *   - ours on batches of 64 packets through the crypto pool with 0, 1, ...
 *     workers (up to one per CPU beyond the first): how sealing and opening
 *     scale on the CPUs that are free.
 * Each result is checked (the pool's output against the single-threaded
 * seal, the others against libsodium) and a mismatch exits 1. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "wg/crypto.h"
#include "wg/pool.h"
#include "wg/wg.h"

#define BATCH 64
#define SLOT 2048

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nonce12(uint8_t n[12], uint64_t c)
{
	memset(n, 0, 4);
	for (int i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(c >> (8 * i));
}

static uint8_t key[32];
static size_t plen = 1420;
static double seconds = 1;

static int evp_seal(EVP_CIPHER_CTX *ctx, uint64_t c, uint8_t *dst, const uint8_t *src)
{
	uint8_t iv[12];
	int outl;
	OSSL_PARAM p[2] = { OSSL_PARAM_END, OSSL_PARAM_END };

	nonce12(iv, c);
	if (EVP_CipherInit_ex2(ctx, NULL, NULL, iv, 1, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, dst, &outl, src, (int)plen) != 1 || EVP_EncryptFinal_ex(ctx, dst + plen, &outl) != 1)
		return -1;
	p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, dst + plen, 16);
	return EVP_CIPHER_CTX_get_params(ctx, p) == 1 ? 0 : -1;
}

enum kind { K_EVP, K_SODIUM, K_OURS_SEAL, K_OURS_LEAD, K_OURS_OPEN };

/* One thread, packet after packet; returns ns per packet (< 0: wrong). */
static double single(enum kind k)
{
	static uint8_t mem[WG_DATA_SEAL_LEAD + SLOT], ref[SLOT], plain[SLOT];
	uint8_t *buf = mem + WG_DATA_SEAL_LEAD;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned long long n = 0;
	double t0, t;
	uint8_t nn[12];

	randombytes_buf(plain, plen);
	if (k == K_EVP) {
		ctx = EVP_CIPHER_CTX_new();
		if (!ctx || EVP_CipherInit_ex2(ctx, EVP_chacha20_poly1305(), key, NULL, 1, NULL) != 1)
			return -1;
	}
	/* check once against libsodium */
	nonce12(nn, 42);
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, plain, plen, NULL, 0, NULL, nn, key);
	if (k == K_EVP && evp_seal(ctx, 42, buf, plain))
		return -1;
	if (k == K_SODIUM)
		crypto_aead_chacha20poly1305_ietf_encrypt(buf, NULL, plain, plen, NULL, 0, NULL, nn, key);
	if (k == K_OURS_SEAL || k == K_OURS_OPEN)
		wg_data_seal(key, 42, buf, plain, plen);
	if (k == K_OURS_LEAD) {
		memcpy(buf, plain, plen);
		wg_data_seal_lead(key, 42, buf, plen);
	}
	if (memcmp(buf, ref, plen + 16))
		return -1;
	if (k == K_OURS_OPEN && (wg_data_open(key, 42, buf, ref, plen + 16) || memcmp(buf, plain, plen)))
		return -1;

	t0 = now_s();
	do {
		for (int i = 0; i < 256; i++, n++) {
			switch (k) {
			case K_EVP:
				evp_seal(ctx, n, buf, plain);
				break;
			case K_SODIUM:
				nonce12(nn, n);
				crypto_aead_chacha20poly1305_ietf_encrypt(buf, NULL, plain, plen, NULL, 0, NULL, nn, key);
				break;
			case K_OURS_SEAL:
				wg_data_seal(key, n, buf, plain, plen);
				break;
			case K_OURS_LEAD:
				/* in place, again and again: the cost does not depend on the bytes */
				wg_data_seal_lead(key, n, buf, plen);
				break;
			case K_OURS_OPEN:
				/* ref is sealed under nonce 42: open it again and again */
				wg_data_open(key, 42, buf, ref, plen + 16);
				break;
			}
		}
		t = now_s() - t0;
	} while (t < seconds);
	EVP_CIPHER_CTX_free(ctx);
	return t * 1e9 / (double)n;
}

struct batch {
	uint8_t *bufs;   /* BATCH slots */
	uint64_t base;
	bool open;
};

static void job(void *ctx, unsigned i)
{
	struct batch *b = ctx;
	uint8_t *s = b->bufs + (size_t)i * SLOT;

	if (b->open)
		(void)wg_data_open(key, b->base + i, s, s, plen + 16);
	else
		(void)wg_data_seal(key, b->base + i, s, s, plen);
}

/* Batches through a pool of `workers`: sealing, then opening what was
 * sealed (so each round trips); ns per packet for each, or < 0. */
static int pooled(unsigned workers, double *seal_ns, double *open_ns)
{
	struct pool *p = NULL;
	struct batch b = { 0 };
	uint8_t *plain = malloc((size_t)BATCH * SLOT), *ref = malloc(plen + 16);
	double ts = 0, to = 0, t;
	unsigned long long n = 0;
	int ret = -1;

	b.bufs = malloc((size_t)BATCH * SLOT);
	if (!plain || !ref || !b.bufs || pool_create(&p, workers, "bench"))
		goto out;
	randombytes_buf(plain, (size_t)BATCH * SLOT);
	do {
		memcpy(b.bufs, plain, (size_t)BATCH * SLOT);
		b.open = false;
		t = now_s();
		pool_run(p, job, &b, BATCH, 2);
		ts += now_s() - t;
		/* spot check: one packet of each batch as the single thread seals it */
		wg_data_seal(key, b.base + (n % BATCH), ref, plain + (n % BATCH) * SLOT, plen);
		if (memcmp(ref, b.bufs + (n % BATCH) * SLOT, plen + 16))
			goto out;
		b.open = true;
		t = now_s();
		pool_run(p, job, &b, BATCH, 2);
		to += now_s() - t;
		for (unsigned i = 0; i < BATCH; i += 17)
			if (memcmp(b.bufs + (size_t)i * SLOT, plain + (size_t)i * SLOT, plen))
				goto out;
		b.base += BATCH;
		n += BATCH;
	} while (ts + to < 2 * seconds);
	*seal_ns = ts * 1e9 / (double)n;
	*open_ns = to * 1e9 / (double)n;
	ret = 0;
out:
	pool_destroy(p);
	free(b.bufs);
	free(ref);
	free(plain);
	return ret;
}

static double gbps(double ns)
{
	return (double)plen * 8 / ns;
}

int main(int argc, char **argv)
{
	static const struct {
		enum kind k;
		const char *name;
	} cases[] = {
		{ K_EVP, "seal, OpenSSL EVP_chacha20_poly1305" },
		{ K_SODIUM, "seal, libsodium IETF AEAD" },
		{ K_OURS_SEAL, "seal, ours (wg_data_seal)" },
		{ K_OURS_LEAD, "seal, ours in place (wg_data_seal_lead)" },
		{ K_OURS_OPEN, "open, ours (wg_data_open)" },
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double base_seal = 0, base_open = 0;

	if (argc > 1)
		seconds = atof(argv[1]);
	if (argc > 2)
		plen = (size_t)atol(argv[2]);
	if (seconds <= 0 || plen < 16 || plen > SLOT - 64) {
		fprintf(stderr, "usage: sealbench [SECONDS [PACKET-BYTES 16..%d]]\n", SLOT - 64);
		return 2;
	}
	if (wg_init()) {
		fprintf(stderr, "sealbench: cannot initialize the crypto libraries\n");
		return 1;
	}
	randombytes_buf(key, sizeof(key));
	printf("%zu-byte packets, %.1f s per case, %ld CPUs\n", plen, seconds, cpus);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double ns = single(cases[i].k);

		if (ns < 0) {
			printf("%-44s WRONG OUTPUT\n", cases[i].name);
			return 1;
		}
		printf("%-44s %7.0f ns  %6.2f Gbit/s\n", cases[i].name, ns, gbps(ns));
	}
	for (long w = 0; w < (cpus > 1 ? cpus : 2) && w <= 8; w++) {
		double s, o;

		if (pooled((unsigned)w, &s, &o)) {
			printf("pool, %ld workers: WRONG OUTPUT\n", w);
			return 1;
		}
		if (!w) {
			base_seal = s;
			base_open = o;
		}
		printf("batches of %d, caller + %ld worker%s:  seal %6.2f Gbit/s (x%.2f)  open %6.2f Gbit/s (x%.2f)\n",
		       BATCH, w, w == 1 ? " " : "s", gbps(s), base_seal / s, gbps(o), base_open / o);
	}
	return 0;
}
