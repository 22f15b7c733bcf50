/* Parsing the server's re-registration challenge and making the proof that
 * answers it (the MAC itself is common/regproof.c). */
#include "apiclient/challenge.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/regproof.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* The string under key: no NUL inside, 1..max characters. */
static int get_b64(const json_t *obj, const char *key, size_t max, const char **s, size_t *len,
		   char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return fail(err, errlen, "challenge.%s: missing", key);
	if (!json_is_string(v))
		return fail(err, errlen, "challenge.%s: not a string", key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	if (strlen(*s) != *len)
		return fail(err, errlen, "challenge.%s: contains a NUL byte", key);
	if (*len == 0 || *len > max)
		return fail(err, errlen, "challenge.%s: not 1 to %zu characters", key, max);
	return 0;
}

/* Standard base64 with padding, every character used, into at most cap
 * bytes; the count in *got. */
static int decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *got)
{
	const char *end = NULL;

	if (sodium_base642bin(out, cap, s, len, NULL, got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    !end || end != s + len)
		return -EBADMSG;
	return 0;
}

int api_challenge_from_json(const json_t *j, struct api_challenge *out, char *err, size_t errlen)
{
	struct api_challenge ch;
	const char *s;
	size_t len, got = 0;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!json_is_object(j))
		return fail(err, errlen, "challenge: not an object");
	memset(&ch, 0, sizeof(ch));

	if ((r = get_b64(j, "server_key", KEY_B64_LEN, &s, &len, err, errlen)) < 0)
		return r;
	if (len != KEY_B64_LEN || decode(s, len, ch.server_key, sizeof(ch.server_key), &got) < 0 ||
	    got != KEY_LEN)
		return fail(err, errlen, "challenge.server_key: not the base64 of %d bytes", KEY_LEN);
	if (key_is_zero(ch.server_key))
		return fail(err, errlen, "challenge.server_key: all zeros");

	if ((r = get_b64(j, "nonce", API_CHALLENGE_NONCE_B64_MAX, &s, &len, err, errlen)) < 0)
		return r;
	if (decode(s, len, ch.nonce, sizeof(ch.nonce), &got) < 0 || got == 0)
		return fail(err, errlen, "challenge.nonce: not base64");
	ch.nonce_len = got;
	memcpy(ch.nonce_b64, s, len);
	ch.nonce_b64[len] = '\0';

	*out = ch;
	return 0;
}

int api_challenge_proof(const struct api_challenge *ch, const uint8_t private_key[KEY_LEN], json_t **out)
{
	uint8_t mac[REGPROOF_MAC_LEN];
	char mac_b64[sodium_base64_ENCODED_LEN(REGPROOF_MAC_LEN, sodium_base64_VARIANT_ORIGINAL)];
	json_t *proof;
	int r;

	r = regproof_mac(mac, private_key, ch->server_key, ch->nonce, ch->nonce_len);
	if (r < 0)
		return r;
	sodium_bin2base64(mac_b64, sizeof(mac_b64), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(mac, sizeof(mac));
	proof = json_pack("{s:s, s:s}", "nonce", ch->nonce_b64, "mac", mac_b64);
	if (!proof)
		return -ENOMEM;
	*out = proof;
	return 0;
}
