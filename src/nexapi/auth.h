/* Tokens and registration keys: text form nx<kind>_<id>_<secret>, kept
 * only as a BLAKE2b hash (crypto_generichash) of the whole text, compared
 * with sodium_memcmp. The text is never logged. */
#ifndef NEXAPI_AUTH_H
#define NEXAPI_AUTH_H

#include <stdint.h>

#include "nexapi/store.h"

#define AUTH_SECRET_LEN 43
#define AUTH_TOKEN_LEN (3 + 1 + STORE_TOKEN_ID_LEN + 1 + AUTH_SECRET_LEN)

/* Who made a request. */
struct auth {
	char kind;                          /* enum token_kind */
	char id[STORE_TOKEN_ID_LEN + 1];    /* token or registration key id */
	char org_id[STORE_ID_LEN + 1];      /* "" for admin */
	char device_id[STORE_ID_LEN + 1];   /* device tokens */
	int64_t created_at, expires_at;     /* tokens; expires_at 0: never */
};

/* A new random token of `kind`: its text (to show once), id and hash. */
void auth_token_new(char kind, char text[AUTH_TOKEN_LEN + 1], char id[STORE_TOKEN_ID_LEN + 1],
		    uint8_t hash[STORE_HASH_LEN]);
/* Splits a token text; 0 or -EINVAL. */
int auth_token_parse(const char *text, char *kind, char id[STORE_TOKEN_ID_LEN + 1]);
void auth_hash(const char *text, uint8_t hash[STORE_HASH_LEN]);

/* Checks an Authorization header value ("Bearer <token>"). 0 with *out
 * filled, or -EACCES with *why a message for the client. Registration keys
 * are only checked for existence here; their state (used, expired,
 * revoked) is checked when they are consumed. A device token of a deleted
 * device (its tombstone, store.h) is -EOWNERDEAD with *out filled (kind,
 * id, org_id, device_id): the caller says so. Another error (-ENOTCONN,
 * -EIO): the store could not tell; the caller answers 503/500, never 401. */
int auth_check(struct store *s, const char *header, struct auth *out, const char **why);

/* A random version 4 uuid. */
void auth_uuid(char out[STORE_ID_LEN + 1]);

#endif
