/* nexd's health probe: ICMP echo replies as read from a raw socket. */
#include <stddef.h>
#include <stdint.h>

#include "nexd/health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t src[4];
	uint16_t seq;

	(void)health_parse_reply(data, size, 0x1234, src, &seq);
	return 0;
}
