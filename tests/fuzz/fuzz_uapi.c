/* Fuzzes the UAPI set parser with whole request bodies. A request that
 * parses is turned into the state a device would report and formatted
 * (the get side), and that text must parse back (minus the get-only keys). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg/uapi.h"

static void check_format(const struct wg_config *c)
{
	struct wg_peer_info *peers = calloc(c->n_peers ? c->n_peers : 1, sizeof(*peers));
	struct wg_device_info info = { 0 };
	struct wg_config back;
	size_t len = 0;
	char *text;

	if (!peers)
		return;
	info.has_private_key = c->has_private_key;
	memcpy(info.private_key, c->private_key, WG_KEY_SIZE);
	info.listen_port = c->listen_port;
	info.fwmark = c->fwmark;
	info.n_peers = c->n_peers;
	info.peers = peers;
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *p = &c->peers[i];

		memcpy(peers[i].public_key, p->public_key, WG_KEY_SIZE);
		peers[i].has_preshared_key = p->has_preshared_key;
		memcpy(peers[i].preshared_key, p->preshared_key, WG_KEY_SIZE);
		if (p->has_endpoint)
			peers[i].endpoint = p->endpoint;
		peers[i].persistent_keepalive_interval = p->persistent_keepalive_interval;
		peers[i].last_handshake_sec = (int64_t)i;
		peers[i].rx_bytes = UINT64_MAX - i;
		peers[i].n_allowed_ips = p->n_allowed_ips;
		peers[i].allowed_ips = p->allowed_ips;
	}
	text = uapi_format_get(&info, &len);
	if (text) {
		/* Drop the get-only lines in place, then parse the rest. */
		size_t out = 0;

		for (size_t pos = 0; pos < len;) {
			char *nl = memchr(text + pos, '\n', len - pos);
			size_t n = (size_t)(nl - (text + pos)) + 1;

			if (strncmp(text + pos, "last_handshake", 14) && strncmp(text + pos, "tx_bytes", 8) &&
			    strncmp(text + pos, "rx_bytes", 8)) {
				memmove(text + out, text + pos, n);
				out += n;
			}
			pos += n;
		}
		if (uapi_parse_set(text, out, &back) != 0 || back.n_peers != c->n_peers)
			abort();
		for (size_t i = 0; i < c->n_peers; i++)
			if (back.peers[i].n_allowed_ips != c->peers[i].n_allowed_ips ||
			    memcmp(back.peers[i].public_key, c->peers[i].public_key, WG_KEY_SIZE))
				abort();
		wg_config_release(&back);
		free(text);
	}
	free(peers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_config c;

	if (uapi_parse_set((const char *)data, size, &c) == 0) {
		check_format(&c);
		wg_config_release(&c);
	}
	return 0;
}
