#include "nexapi/auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "nexapi/validate.h"

void auth_hash(const char *text, uint8_t hash[STORE_HASH_LEN])
{
	crypto_generichash(hash, STORE_HASH_LEN, (const unsigned char *)text, strlen(text), NULL, 0);
}

void auth_token_new(char kind, char text[AUTH_TOKEN_LEN + 1], char id[STORE_TOKEN_ID_LEN + 1],
		    uint8_t hash[STORE_HASH_LEN])
{
	uint8_t idb[STORE_TOKEN_ID_LEN / 2], secret[32];
	char sec[AUTH_SECRET_LEN + 1];

	randombytes_buf(idb, sizeof(idb));
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(id, STORE_TOKEN_ID_LEN + 1, idb, sizeof(idb));
	sodium_bin2base64(sec, sizeof(sec), secret, sizeof(secret),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(text, AUTH_TOKEN_LEN + 1, "nx%c_%s_%s", kind, id, sec);
	auth_hash(text, hash);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sec, sizeof(sec));
}

int auth_token_parse(const char *text, char *kind, char id[STORE_TOKEN_ID_LEN + 1])
{
	size_t n = strlen(text);

	if (n != AUTH_TOKEN_LEN || text[0] != 'n' || text[1] != 'x' || text[3] != '_' ||
	    text[4 + STORE_TOKEN_ID_LEN] != '_')
		return -EINVAL;
	if (!strchr("aodr", text[2]) || !text[2])
		return -EINVAL;
	memcpy(id, text + 4, STORE_TOKEN_ID_LEN);
	id[STORE_TOKEN_ID_LEN] = 0;
	if (validate_token_id(id))
		return -EINVAL;
	for (size_t i = 5 + STORE_TOKEN_ID_LEN; i < n; i++) {
		char c = text[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return -EINVAL;
	}
	*kind = text[2];
	return 0;
}

int auth_check(struct store *s, const char *header, struct auth *out, const char **why)
{
	const struct store_ops *ops = store_ops_of(s);
	uint8_t hash[STORE_HASH_LEN];
	const char *text;
	char kind, id[STORE_TOKEN_ID_LEN + 1];
	int err = -EACCES;

	if (!header) {
		*why = "missing Authorization header";
		return -EACCES;
	}
	if (strncasecmp(header, "Bearer ", 7)) {
		*why = "the Authorization header must be \"Bearer <token>\"";
		return -EACCES;
	}
	text = header + 7;
	while (*text == ' ')
		text++;
	if (auth_token_parse(text, &kind, id)) {
		*why = "malformed token";
		return -EACCES;
	}
	auth_hash(text, hash);
	memset(out, 0, sizeof(*out));
	*why = "invalid token";
	if (kind == TOKEN_REGKEY) {
		struct regkey_rec k;
		int rc = ops->regkey_get(s, id, &k);

		if (rc && rc != -ENOENT) {
			err = rc;   /* the store could not tell: the caller says so */
			goto out;
		}
		if (rc)
			goto out;
		if (sodium_memcmp(k.hash, hash, STORE_HASH_LEN))
			goto out;
		snprintf(out->org_id, sizeof(out->org_id), "%s", k.org_id);
	} else {
		struct token_rec t;
		int rc = ops->token_get(s, id, &t);

		if (rc && rc != -ENOENT) {
			err = rc;   /* the store could not tell: the caller says so */
			goto out;
		}
		if (rc == -ENOENT && kind == TOKEN_DEVICE && ops->deleted_token_get(s, id, &t) == 0 &&
		    sodium_memcmp(t.hash, hash, STORE_HASH_LEN) == 0) {
			out->kind = kind;
			snprintf(out->id, sizeof(out->id), "%s", id);
			snprintf(out->org_id, sizeof(out->org_id), "%s", t.org_id);
			snprintf(out->device_id, sizeof(out->device_id), "%s", t.device_id);
			*why = "device was deleted";
			err = -EOWNERDEAD;
			goto out;
		}
		if (rc || t.kind != kind)
			goto out;
		if (sodium_memcmp(t.hash, hash, STORE_HASH_LEN))
			goto out;
		if (t.expires_at && t.expires_at <= (int64_t)time(NULL)) {
			*why = "token expired";
			goto out;
		}
		snprintf(out->org_id, sizeof(out->org_id), "%s", t.org_id);
		snprintf(out->device_id, sizeof(out->device_id), "%s", t.device_id);
		out->expires_at = t.expires_at;
		out->created_at = t.created_at;
	}
	out->kind = kind;
	snprintf(out->id, sizeof(out->id), "%s", id);
	err = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	return err;
}

void auth_uuid(char out[STORE_ID_LEN + 1])
{
	uint8_t b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, STORE_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}
