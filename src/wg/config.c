/* The heap side of struct wg_config: what the UAPI parser builds and
 * wg_config_release gives back, keys wiped. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg.h"

void wg_config_release(struct wg_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->peers && i < c->n_peers; i++) {
		free(c->peers[i].allowed_ips);
		sodium_memzero(&c->peers[i], sizeof(c->peers[i]));
	}
	free(c->peers);
	sodium_memzero(c, sizeof(*c));
}
