/* The re-registration challenge of the API (docs/api.md, "Re-registration
 * needs proof"): a 409 to a registration of a public key already known to
 * the organization carries {"server_key": B64, "nonce": B64}; the device
 * answers with "proof": {"nonce": the nonce as received, "mac": B64 of
 * regproof_mac(private key, server_key, nonce)} (common/regproof.h).
 * Parsed with every field checked: type, exact base64, length. */
#ifndef APICLIENT_CHALLENGE_H
#define APICLIENT_CHALLENGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/key.h"

enum api_challenge_limits {
	API_CHALLENGE_NONCE_B64_MAX = 64,   /* characters, as the server takes a proof's nonce */
	API_CHALLENGE_NONCE_MAX = 48,       /* bytes from 64 characters */
};

struct api_challenge {
	uint8_t server_key[KEY_LEN];
	char nonce_b64[API_CHALLENGE_NONCE_B64_MAX + 1];   /* as received */
	uint8_t nonce[API_CHALLENGE_NONCE_MAX];
	size_t nonce_len;                                  /* 1..API_CHALLENGE_NONCE_MAX */
};

/* The "challenge" object. 0, or -EBADMSG with a reason in err (may be
 * NULL); *out is written only on success. */
int api_challenge_from_json(const json_t *j, struct api_challenge *out, char *err, size_t errlen);

/* The "proof" object answering ch with the device's private key:
 * {"nonce", "mac"} in *out (the caller json_decref()s it). 0, -EINVAL (a
 * low-order server key) or -ENOMEM. */
int api_challenge_proof(const struct api_challenge *ch, const uint8_t private_key[KEY_LEN], json_t **out);

#endif
