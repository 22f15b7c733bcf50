/* Fuzzes apiclient's parsers of the server's JSON: one device (with its
 * approved_cidrs), a device list, a watch answer, a TURN relay list and a
 * re-registration challenge (nexd trusts what they accept). Checks that
 * whatever is accepted holds to the limits the parser promises, that the
 * exit-node predicates agree with each other, and that a refused relay
 * list leaves nothing behind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient/challenge.h"
#include "apiclient/device.h"
#include "apiclient/relay.h"
#include "common/turnuri.h"

static void check_cidrs(const struct cidr *c, size_t n)
{
	if (n > API_MAX_ADVERTISE_CIDRS || (n && !c))
		abort();
	for (size_t i = 0; i < n; i++) {
		if ((c[i].family != AF_INET && c[i].family != AF_INET6) ||
		    c[i].prefix > (c[i].family == AF_INET ? 32 : 128))
			abort();
	}
}

/* The default route of family in the list. */
static bool has_default(const struct cidr *c, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].family == family && c[i].prefix == 0)
			return true;
	return false;
}

static void check_device(const struct api_device *d)
{
	bool adv4, app4, adv6, app6;

	if (strlen(d->id) != API_UUID_LEN || d->n_endpoints > API_MAX_ENDPOINTS || !d->hostname[0] ||
	    (d->tunnel_family != AF_INET && d->tunnel_family != AF_INET6))
		abort();
	check_cidrs(d->advertise_cidrs, d->n_advertise_cidrs);
	check_cidrs(d->approved_cidrs, d->n_approved_cidrs);
	/* an exit node only with 0.0.0.0/0 in both lists; pending: advertised alone */
	adv4 = has_default(d->advertise_cidrs, d->n_advertise_cidrs, AF_INET);
	app4 = has_default(d->approved_cidrs, d->n_approved_cidrs, AF_INET);
	adv6 = has_default(d->advertise_cidrs, d->n_advertise_cidrs, AF_INET6);
	app6 = has_default(d->approved_cidrs, d->n_approved_cidrs, AF_INET6);
	if (api_device_is_exit_node(d) != (adv4 && app4) || api_device_exit_pending(d) != (adv4 && !app4) ||
	    api_device_exit_v6(d) != (adv6 && app6) ||
	    (api_device_is_exit_node(d) && api_device_exit_pending(d)))
		abort();
}

static void check_challenge(const json_t *j)
{
	struct api_challenge ch;
	char err[API_PARSE_ERROR_MAX];
	size_t n;

	if (api_challenge_from_json(j, &ch, err, sizeof(err)) < 0)
		return;
	n = strnlen(ch.nonce_b64, sizeof(ch.nonce_b64));
	if (ch.nonce_len < 1 || ch.nonce_len > API_CHALLENGE_NONCE_MAX || n < 1 ||
	    n > API_CHALLENGE_NONCE_B64_MAX || ch.nonce_len > n * 3 / 4)
		abort();
}

static bool printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static void check_relays(int r, const struct api_relays *l, bool with_ttl)
{
	if (r < 0) {
		/* wiped: every byte zero */
		for (size_t i = 0; i < sizeof(*l); i++)
			if (((const uint8_t *)l)[i])
				abort();
		return;
	}
	if (l->n > API_MAX_RELAYS || (with_ttl ? (l->ttl < 1 || l->ttl > API_RELAY_TTL_MAX) : l->ttl != 0))
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct api_relay *x = &l->items[i];
		struct turn_uri u;
		char again[TURN_URI_STRLEN];

		if (turn_uri_parse(x->uri, &u) || turn_uri_format(&u, again, sizeof(again)) < 0 ||
		    strcmp(again, x->uri) || !printable(x->username, API_RELAY_USERNAME_MAX) ||
		    !printable(x->password, API_RELAY_PASSWORD_MAX))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[API_PARSE_ERROR_MAX];
	struct api_device d;
	struct api_device_list l;
	struct api_watch w;
	json_t *j;

	if (size > (1u << 20))
		return 0;
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	if (api_device_from_json(j, &d, err, sizeof(err)) == 0) {
		check_device(&d);
		api_device_free(&d);
	}
	if (api_device_list_from_json(j, &l, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < l.n_devices; i++)
			check_device(&l.devices[i]);
		api_device_list_free(&l);
	}
	if (api_watch_from_json(j, &w, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < w.n_events; i++) {
			if (w.events[i].revision > w.revision)
				abort();
			check_device(&w.events[i].device);
		}
		api_watch_free(&w);
	}
	{
		struct api_relays rl;
		int r = api_relays_from_json(j, &rl, err, sizeof(err));

		check_relays(r, &rl, true);
		api_relays_wipe(&rl);
		if (json_is_object(j) && json_object_get(j, "relays")) {
			r = api_relays_list_from_json(json_object_get(j, "relays"), &rl, err, sizeof(err));
			check_relays(r, &rl, false);
			api_relays_wipe(&rl);
		}
	}
	/* a challenge: the object itself, or as a 409 answer carries it */
	check_challenge(j);
	if (json_is_object(j))
		check_challenge(json_object_get(j, "challenge"));
	/* the time parser alone, on the raw bytes */
	{
		char s[64];
		int64_t t;
		size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

		memcpy(s, data, n);
		s[n] = '\0';
		if (api_time_parse(s, &t) == 0) {
			char out[API_TIME_STRLEN];
			api_time_format(t, out);
		}
	}
	json_decref(j);
	return 0;
}
