/* The device record of the API (docs/api.md), parsed from the server's JSON
 * with every field checked: type, syntax, length, count. nexd trusts what
 * comes out of here, so nothing is taken on faith. Unknown fields are
 * ignored (a newer server may add some); missing or mistyped ones are an
 * error, except the fields an older server lacks ("tunnel_ip6",
 * "approved_cidrs": absent means none). */
#ifndef APICLIENT_DEVICE_H
#define APICLIENT_DEVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/key.h"

enum api_limits {
	API_UUID_LEN = 36,
	API_ORG_NAME_MAX = 63,
	API_HOSTNAME_MAX = 253,
	API_TEXT_MAX = 255,           /* os, version, exit_node_status */
	API_MAX_ENDPOINTS = 16,
	API_MAX_ADVERTISE_CIDRS = 64, /* also the most approved_cidrs */
	API_MAX_DEVICES = 65536,      /* in one list */
	API_MAX_WATCH_EVENTS = 65536, /* in one watch answer */
	API_PARSE_ERROR_MAX = 160,
};

/* "local": an address of the device's own interfaces; "stun": its address
 * as a STUN server saw it (behind a NAT); "relay": an address a TURN relay
 * allocated for it (docs/api.md). */
enum api_endpoint_source { API_ENDPOINT_LOCAL, API_ENDPOINT_STUN, API_ENDPOINT_RELAY };

struct api_endpoint {
	enum api_endpoint_source source;
	union sockaddr_any addr;
};

struct api_device {
	char id[API_UUID_LEN + 1];
	char organization[API_ORG_NAME_MAX + 1];
	char hostname[API_HOSTNAME_MAX + 1];
	uint8_t public_key[KEY_LEN];
	int tunnel_family;                 /* AF_INET or AF_INET6 */
	uint8_t tunnel_ip[16];
	bool has_tunnel_ip6;               /* "tunnel_ip6": false when absent or null */
	uint8_t tunnel_ip6[16];            /* IPv6, network order, when has_tunnel_ip6 */
	struct api_endpoint *endpoints;    /* n_endpoints, heap */
	size_t n_endpoints;
	struct cidr *advertise_cidrs;      /* n_advertise_cidrs, heap: what the device asks to route */
	size_t n_advertise_cidrs;
	struct cidr *approved_cidrs;       /* n_approved_cidrs, heap: what the organization honours;
					    * "approved_cidrs" absent (an older server): none */
	size_t n_approved_cidrs;
	bool exit_node_client;
	char exit_node_status[API_TEXT_MAX + 1];
	char os[API_TEXT_MAX + 1];
	char version[API_TEXT_MAX + 1];
	int64_t last_seen;                 /* unix seconds; -1: never (null) */
	bool online;
	uint64_t revision;
	int64_t created_at;                /* unix seconds */
};

struct api_device_list {
	uint64_t revision;
	struct api_device *devices;
	size_t n_devices;
};

enum api_watch_type { API_WATCH_UPSERT, API_WATCH_DELETE };

struct api_watch_event {
	uint64_t revision;
	enum api_watch_type type;
	struct api_device device;
};

struct api_watch {
	uint64_t revision;
	struct api_watch_event *events;
	size_t n_events;
};

/* 0, or -EBADMSG with a reason in err (which may be NULL). On error *out is
 * left empty (safe to free); on success the caller frees it. */
int api_device_from_json(const json_t *j, struct api_device *out, char *err, size_t errlen);
void api_device_free(struct api_device *d);
/* {"revision": N, "devices": [...]} */
int api_device_list_from_json(const json_t *j, struct api_device_list *out, char *err, size_t errlen);
void api_device_list_free(struct api_device_list *l);
/* {"revision": N, "events": [{"revision", "type", "device"}...]} */
int api_watch_from_json(const json_t *j, struct api_watch *out, char *err, size_t errlen);
void api_watch_free(struct api_watch *w);

/* An exit node is a device whose 0.0.0.0/0 is both advertised and approved
 * (docs/api.md, "Exit-node approval"); only then do clients use it.
 * api_device_exit_v6: ::/0 advertised and approved (clients send IPv6 to
 * it). api_device_exit_pending: 0.0.0.0/0 advertised but not approved (an
 * exit node waiting for an admin). */
bool api_device_is_exit_node(const struct api_device *d);
bool api_device_exit_v6(const struct api_device *d);
bool api_device_exit_pending(const struct api_device *d);

/* RFC 3339 ("2026-11-25T08:45:33Z", fraction and ±hh:mm offset allowed) to
 * unix seconds; -EINVAL otherwise. And back, always UTC with "Z". */
#define API_TIME_STRLEN 21
int api_time_parse(const char *s, int64_t *out);
void api_time_format(int64_t t, char out[API_TIME_STRLEN]);

/* "local", "stun", "relay". */
const char *api_endpoint_source_name(enum api_endpoint_source s);

#endif
