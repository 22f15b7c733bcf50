#include "common/regproof.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static const char label[] = "nexodus register proof v1";

/* k and mac from the DH result; both public keys as they are on the wire. */
static int compute(uint8_t mac[REGPROOF_MAC_LEN], const uint8_t priv[32], const uint8_t peer_pub[32],
		   const uint8_t server_pub[32], const uint8_t dev_pub[32], const uint8_t *nonce,
		   size_t nonce_len)
{
	crypto_generichash_state st;
	uint8_t shared[crypto_scalarmult_BYTES], k[32];
	int err = -EINVAL;

	if (!nonce || nonce_len == 0 || nonce_len > REGPROOF_NONCE_MAX)
		return -EINVAL;
	/* crypto_scalarmult fails when the result is all zeros (low order). */
	if (crypto_scalarmult(shared, priv, peer_pub) != 0)
		goto out_wipe;
	if (crypto_generichash_init(&st, NULL, 0, sizeof(k)) ||
	    crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label) - 1) ||
	    crypto_generichash_update(&st, shared, sizeof(shared)) ||
	    crypto_generichash_update(&st, server_pub, 32) ||
	    crypto_generichash_update(&st, dev_pub, 32) ||
	    crypto_generichash_final(&st, k, sizeof(k)))
		goto out_wipe;
	if (crypto_generichash(mac, REGPROOF_MAC_LEN, nonce, nonce_len, k, sizeof(k)))
		goto out_wipe;
	err = 0;
out_wipe:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(k, sizeof(k));
	return err;
}

int regproof_mac(uint8_t mac[REGPROOF_MAC_LEN], const uint8_t dev_priv[32], const uint8_t server_pub[32],
		 const uint8_t *nonce, size_t nonce_len)
{
	uint8_t dev_pub[32], out[REGPROOF_MAC_LEN];
	int err;

	if (crypto_scalarmult_base(dev_pub, dev_priv) != 0)
		return -EINVAL;
	err = compute(out, dev_priv, server_pub, server_pub, dev_pub, nonce, nonce_len);
	if (!err)
		memcpy(mac, out, sizeof(out));
	sodium_memzero(out, sizeof(out));
	return err;
}

int regproof_verify(const uint8_t mac[REGPROOF_MAC_LEN], const uint8_t server_priv[32], const uint8_t dev_pub[32],
		    const uint8_t *nonce, size_t nonce_len)
{
	uint8_t server_pub[32], want[REGPROOF_MAC_LEN];
	int err = -EBADMSG;

	if (crypto_scalarmult_base(server_pub, server_priv) != 0)
		return -EBADMSG;
	if (compute(want, server_priv, dev_pub, server_pub, dev_pub, nonce, nonce_len) == 0 &&
	    crypto_verify_32(want, mac) == 0)
		err = 0;
	sodium_memzero(want, sizeof(want));
	return err;
}
