/* nexd's state directory (default /var/lib/nexd, 0700): the WireGuard key
 * pair (private.key, 0600, created on first start and kept) and the
 * registration (device.json, 0600: device id, device token, service URL).
 * Files are replaced atomically (temporary file, fsync, rename). */
#ifndef NEXD_STATE_H
#define NEXD_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/key.h"

#define STATE_ID_MAX 64
#define STATE_TOKEN_MAX 256
#define STATE_URL_MAX 512

struct nexd_state {
	char dir[256];
	uint8_t private_key[KEY_LEN];
	uint8_t public_key[KEY_LEN];
	/* The registration; device_id[0] == 0 when not registered. */
	char device_id[STATE_ID_MAX];
	char device_token[STATE_TOKEN_MAX];
	char service_url[STATE_URL_MAX];
};

/* Creates the directory if needed, loads the key pair or creates it, and
 * loads the registration if there is one. 0 or -errno with a message in err. */
int state_load(struct nexd_state *st, const char *dir, char *err, size_t errlen);
/* Persists the registration. */
int state_save_registration(struct nexd_state *st, const char *device_id, const char *device_token,
			    const char *service_url);
/* Forgets the registration (e.g. the device was deleted on the server). */
int state_clear_registration(struct nexd_state *st);
/* Wipes the keys and the token from memory. */
void state_wipe(struct nexd_state *st);

/* Writes data to dir/name atomically with mode 0600: a temporary file,
 * fsync, rename, fsync of the directory. */
int state_write_file(const char *dir, const char *name, const char *data, size_t len);
/* fsync of the directory dir (after a rename or unlink in it). */
int state_sync_dir(const char *dir);

#endif
