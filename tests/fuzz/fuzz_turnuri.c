/* libFuzzer target: the TURN URI parser (common/turnuri). Whatever it
 * accepts has a host of the allowed bytes, a port that is not 0 and a known
 * transport; its canonical text fits TURN_URI_STRLEN, parses to the same
 * struct, and formats to the same text again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/turnuri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[TURN_URI_STRLEN], again_text[TURN_URI_STRLEN];
	struct turn_uri u, again;
	size_t hlen;
	int n;

	if (turn_uri_parse_n((const char *)data, size, &u))
		return 0;
	if (size > TURN_URI_MAX)
		abort();
	hlen = strnlen(u.host, sizeof(u.host));
	if (hlen == 0 || hlen > TURN_URI_HOST_MAX || u.port == 0 ||
	    strspn(u.host, "abcdefghijklmnopqrstuvwxyz0123456789.-:") != hlen)
		abort();
	if (u.transport != TURN_TRANSPORT_UDP && u.transport != TURN_TRANSPORT_TCP &&
	    u.transport != TURN_TRANSPORT_TLS)
		abort();
	n = turn_uri_format(&u, text, sizeof(text));
	if (n <= 0 || (size_t)n != strlen(text))
		abort();
	memset(&again, 0, sizeof(again));
	if (turn_uri_parse(text, &again) || strcmp(again.host, u.host) || again.port != u.port ||
	    again.transport != u.transport)
		abort();
	if (turn_uri_format(&again, again_text, sizeof(again_text)) != n || strcmp(text, again_text))
		abort();
	return 0;
}
