/* TURN relays for the devices: the servers (--turn-server), the secret
 * shared with them (--turn-secret-file: coturn's static-auth-secret, with
 * use-auth-secret), and the time-limited credentials of the TURN REST
 * scheme derived from it for each request:
 *
 *   username = "<expiry unix time>:<device id>"
 *   password = base64(HMAC-SHA1(secret, username))
 *
 * The secret stays in this module: held in guarded memory (sodium_malloc,
 * read-only), wiped when freed, never logged, never sent. */
#ifndef NEXAPI_RELAY_H
#define NEXAPI_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/turnuri.h"
#include "nexapi/store.h"

#define RELAY_MAX_SERVERS 8
#define RELAY_SECRET_MAX 1024          /* bytes */
#define RELAY_TTL_DEFAULT 86400        /* seconds */
#define RELAY_TTL_MIN 300
#define RELAY_TTL_MAX 604800
#define RELAY_USERNAME_MAX (20 + 1 + STORE_ID_LEN)
#define RELAY_PASSWORD_LEN 28          /* base64 of the 20 bytes of HMAC-SHA1 */

struct relay_config {
	char uris[RELAY_MAX_SERVERS][TURN_URI_STRLEN];   /* canonical (turn_uri_format) */
	size_t n;
	unsigned ttl;                      /* seconds a credential is valid */
	uint8_t *secret;                   /* NULL until relay_secret_load */
	size_t secret_len;
};

/* Adds a server by its URI text: 0, -EINVAL (not a TURN URI), -EEXIST
 * (the same server twice), -E2BIG (more than RELAY_MAX_SERVERS). */
int relay_add_server(struct relay_config *rc, const char *uri);

/* Reads the secret from path, once: one line (a trailing "\n" or "\r\n" is
 * dropped), 1 to RELAY_SECRET_MAX bytes, no NUL and no other line break.
 * Warns (naming the file, not the secret) when group or others may read
 * it. 0, or -errno with *why saying what is wrong with the file. */
int relay_secret_load(struct relay_config *rc, const char *path, const char **why);

/* Wipes and frees the secret. */
void relay_config_clear(struct relay_config *rc);

/* password = base64(HMAC-SHA1(secret, username)), standard alphabet with
 * padding. 0, or -EINVAL (no secret), -EIO (libcrypto failed). */
int relay_password(const uint8_t *secret, size_t secret_len, const char *username,
		   char out[RELAY_PASSWORD_LEN + 1]);

/* The credentials for device_id, valid until *expires_at = now + ttl.
 * The caller wipes password. */
int relay_credentials(const struct relay_config *rc, const char *device_id, int64_t now,
		      char username[RELAY_USERNAME_MAX + 1], char password[RELAY_PASSWORD_LEN + 1],
		      int64_t *expires_at);

#endif
