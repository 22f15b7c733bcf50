/* The TURN relays the API hands a device (docs/api.md): each server's URI
 * and time-limited credentials, parsed from the server's JSON with every
 * field checked (type, syntax, length, count; the URI by common/turnuri).
 * Unknown fields are ignored, as in device.h. The passwords are secrets:
 * api_relays_wipe() when done with them, and never log them. */
#ifndef APICLIENT_RELAY_H
#define APICLIENT_RELAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/turnuri.h"

enum api_relay_limits {
	API_MAX_RELAYS = 8,
	API_RELAY_USERNAME_MAX = 255,   /* printable ASCII, as a TURN USERNAME */
	API_RELAY_PASSWORD_MAX = 128,   /* printable ASCII */
	API_RELAY_TTL_MAX = 604800,     /* seconds, as the server caps --turn-ttl */
};

struct api_relay {
	char uri[TURN_URI_STRLEN];      /* canonical text (turn_uri_format) */
	char username[API_RELAY_USERNAME_MAX + 1];
	char password[API_RELAY_PASSWORD_MAX + 1];
	int64_t expires_at;             /* unix seconds */
};

struct api_relays {
	struct api_relay items[API_MAX_RELAYS];
	size_t n;
	int64_t ttl;                    /* seconds the credentials were made for; 0 when
					 * filled from a registration answer (which has only
					 * the list): renew by expires_at */
};

/* {"relays": [{"uri", "username", "password", "expires_at"}...], "ttl": N}
 * (GET /api/v1/devices/{id}/relays). 0, or -EBADMSG with a reason in err
 * (which may be NULL); on error *out is wiped and empty. */
int api_relays_from_json(const json_t *j, struct api_relays *out, char *err, size_t errlen);
/* The list alone, as the registration answer's "relays" (ttl 0). */
int api_relays_list_from_json(const json_t *arr, struct api_relays *out, char *err, size_t errlen);
/* Wipes every credential and empties the list. NULL is fine. */
void api_relays_wipe(struct api_relays *r);

#endif
