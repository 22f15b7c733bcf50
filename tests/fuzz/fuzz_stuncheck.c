/* libFuzzer target: the connectivity-check request parser (what any host
 * on the internet can send to nexd's WireGuard port), and the answer built
 * for what it accepts, parsed back by the response parser. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "nexd/stuncheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t me[32] = { 1, 2, 3 };
	struct stun_txid txid;
	bool for_me;
	union sockaddr_any from = { 0 };
	struct stun_response r;
	uint8_t out[STUNCHECK_RESPONSE_MAX];
	int n;

	if (stuncheck_request_parse(data, size, me, &txid, &for_me) != 0)
		return 0;
	if (!stun_is_message(data, size))
		abort();
	from.in4.sin_family = AF_INET;
	from.in4.sin_port = htons(51820);
	from.in4.sin_addr.s_addr = htonl(0xcb007102);
	n = stuncheck_response_build(out, sizeof(out), &txid, &from);
	if (n <= 0 || stun_response_parse(out, (size_t)n, &txid, &r) != 0 || !addr_endpoint_equal(&r.mapped, &from))
		abort();
	return 0;
}
