/* regproof_tool PRIVATE_KEY SERVER_KEY NONCE: the proof a device sends to
 * re-register its public key (src/common/regproof.h), for the end-to-end
 * tests. PRIVATE_KEY: the device's private key as `wg genkey` prints it;
 * SERVER_KEY and NONCE: the base64 texts of the server's 409 challenge.
 * Prints the mac in base64. Exit 2 on bad input, 1 if no mac can be made. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/key.h"
#include "common/regproof.h"

int main(int argc, char **argv)
{
	uint8_t priv[KEY_LEN], server[KEY_LEN], nonce[REGPROOF_NONCE_MAX], mac[REGPROOF_MAC_LEN];
	char out[sodium_base64_ENCODED_LEN(REGPROOF_MAC_LEN, sodium_base64_VARIANT_ORIGINAL)];
	const char *end = NULL;
	size_t nonce_len = 0;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: regproof_tool PRIVATE_KEY SERVER_KEY NONCE\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (key_from_base64(priv, argv[1]) || key_from_base64(server, argv[2])) {
		fprintf(stderr, "regproof_tool: a key is not base64 of 32 bytes\n");
		return 2;
	}
	if (sodium_base642bin(nonce, sizeof(nonce), argv[3], strlen(argv[3]), NULL, &nonce_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) || *end || nonce_len == 0) {
		fprintf(stderr, "regproof_tool: the nonce is not base64 of 1 to %d bytes\n", REGPROOF_NONCE_MAX);
		sodium_memzero(priv, sizeof(priv));
		return 2;
	}
	if (regproof_mac(mac, priv, server, nonce, nonce_len) == 0) {
		sodium_bin2base64(out, sizeof(out), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
		printf("%s\n", out);
		rc = 0;
	} else {
		fprintf(stderr, "regproof_tool: the server key is a low-order point\n");
	}
	sodium_memzero(priv, sizeof(priv));
	return rc;
}
