/* libFuzzer target: the STUN Binding response parser and the STUN
 * recogniser. The transaction id is taken from the input itself (bytes
 * 8..19) so that the fuzzer reaches the attribute walk, and once more with
 * a fixed id (the "other transaction" path). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct stun_txid fixed = { { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
						  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae } };
	struct stun_txid own = fixed;
	struct stun_response r;
	bool is_stun = stun_is_message(data, size);
	int err;

	if (size >= STUN_HEADER_LEN)
		memcpy(own.b, data + 8, STUN_TXID_LEN);
	err = stun_response_parse(data, size, &own, &r);
	/* anything the parser accepts passes the recogniser */
	if (err != -EBADMSG && !is_stun)
		abort();
	if (err == 0) {
		if (r.mapped.sa.sa_family != AF_INET && r.mapped.sa.sa_family != AF_INET6)
			abort();
	} else if (err == -ECONNREFUSED) {
		if (r.error_code < 300 || r.error_code > 699 ||
		    strnlen(r.reason, sizeof(r.reason)) >= sizeof(r.reason))
			abort();
	}
	(void)stun_response_parse(data, size, &fixed, &r);
	return 0;
}
