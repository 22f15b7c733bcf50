/* libFuzzer target: nexd's reading of `nft -j list ruleset` (the firewall
 * check of exit nodes): whatever the other tables of the host hold, the
 * parser stays in bounds and every finding names a chain and a hook. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/nft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ifs[] = { "wg0", "eth0" };
	struct nft_drop d[4];
	size_t n = 0;
	char text[512];

	if (nft_forward_drops_parse((const char *)data, size, "inet", "nexd-exit-wg0", ifs, 2, d, 4, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && i < 4; i++) {
		nft_drop_format(&d[i], text, sizeof(text));
		if (!text[0] || !memchr(text, 0, sizeof(text)))
			abort();
	}
	return 0;
}
