/* libFuzzer target: the forwarding rules of `nexd proxy` (proxy/rule).
 * Whatever is accepted is at most PROXY_RULE_TEXT_MAX bytes, formats to a
 * canonical text that fits PROXY_RULE_STRLEN, parses back to an equal
 * rule, and formats to the same text again. Whatever is refused has a
 * message, NUL-terminated in the why buffer, and leaves out untouched. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refused(const char *text, size_t len, enum proxy_dir dir)
{
	char why[PROXY_RULE_WHY_MAX], small[9];
	struct proxy_rule r, untouched;

	memset(&r, 0x5a, sizeof(r));
	untouched = r;
	memset(why, 'x', sizeof(why));
	if (proxy_rule_parse(text, len, dir, &r, why, sizeof(why)) == 0)
		abort();
	if (!memchr(why, 0, sizeof(why)) || strlen(why) == 0 || memcmp(&r, &untouched, sizeof(r)))
		abort();
	/* a short buffer gets a truncated message, still terminated */
	memset(small, 'x', sizeof(small));
	if (proxy_rule_parse(text, len, dir, &r, small, sizeof(small)) == 0 || small[sizeof(small) - 1] != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[PROXY_RULE_STRLEN], again_text[PROXY_RULE_STRLEN], why[PROXY_RULE_WHY_MAX];
	enum proxy_dir dir = size & 1 ? PROXY_EGRESS : PROXY_INGRESS;
	struct proxy_rule r, again;
	int n;

	if (proxy_rule_parse((const char *)data, size, dir, &r, why, sizeof(why))) {
		check_refused((const char *)data, size, dir);
		return 0;
	}
	if (size > PROXY_RULE_TEXT_MAX || why[0] || r.dir != dir || r.port == 0 || r.dest_port == 0)
		abort();
	n = proxy_rule_format(&r, text, sizeof(text));
	if (n <= 0 || n > PROXY_RULE_TEXT_MAX || (size_t)n != strlen(text))
		abort();
	memset(&again, 0, sizeof(again));
	if (proxy_rule_parse(text, (size_t)n, dir, &again, why, sizeof(why)) || !proxy_rule_equal(&r, &again))
		abort();
	if (proxy_rule_format(&again, again_text, sizeof(again_text)) != n || strcmp(text, again_text))
		abort();
	/* one byte short of room: refused, never overrun */
	if (proxy_rule_format(&r, text, (size_t)n) != -ENOSPC)
		abort();
	return 0;
}
