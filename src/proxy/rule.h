/* Forwarding rules of `nexd proxy` (--ingress and --egress), strictly parsed:
 *
 *   PROTO:PORT:DEST_IP:DEST_PORT
 *
 *   tcp:8080:10.0.0.5:80            tcp:8080:[2001:db8::5]:80
 *
 * --ingress: connections from the mesh to this device's tunnel address and
 * PORT are forwarded to DEST_IP:DEST_PORT on the local network.
 * --egress: a local listener on PORT forwards into the mesh to
 * DEST_IP:DEST_PORT.
 *
 * PROTO is "tcp" or "udp" (lowercase only). PORT and DEST_PORT are 1 to
 * 65535 in decimal: digits only, no sign, no spaces, no leading zeros.
 * DEST_IP is a dotted-quad IPv4 address (four decimal parts of 0 to 255,
 * no leading zeros) or an IPv6 address in brackets (no zone, not an
 * IPv4-mapped address: write that one as IPv4). The destination must be a
 * unicast address: the unspecified addresses (0.0.0.0, ::), multicast
 * (224.0.0.0/4, ff00::/8) and 255.255.255.255 are refused.
 *
 * The direction is not part of the text: it is given to the parser and kept
 * in the struct, so parse(format(r), r.dir) == r. No allocation. */
#ifndef PROXY_RULE_H
#define PROXY_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text accepted or written: "tcp:65535:[" + 45 bytes of IPv6
 * address + "]:65535". PROXY_RULE_STRLEN holds it with its NUL. */
#define PROXY_RULE_TEXT_MAX 63
#define PROXY_RULE_STRLEN (PROXY_RULE_TEXT_MAX + 1)
/* A why buffer of this size holds every message whole. */
#define PROXY_RULE_WHY_MAX 192

enum proxy_dir {
	PROXY_INGRESS,                /* --ingress: mesh -> local network */
	PROXY_EGRESS,                 /* --egress: local listener -> mesh */
};

struct proxy_rule {
	enum proxy_dir dir;
	int proto;                    /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;                /* host order, 1..65535 */
	int family;                   /* AF_INET or AF_INET6 */
	uint8_t dest[16];             /* network order; AF_INET: first 4 bytes, the rest 0 */
	uint16_t dest_port;           /* host order, 1..65535 */
};

/* Parses exactly len bytes of text (no NUL needed; a NUL among them is
 * refused; nothing after len is read). 0, or -EINVAL with a message in why
 * (such as "tcp:0:10.0.0.1:80: port must be 1 to 65535"; the rule is shown
 * with bytes outside printable ASCII as '?'; why may be NULL) and out left
 * untouched. A dir other than PROXY_INGRESS or PROXY_EGRESS is -EINVAL. */
int proxy_rule_parse(const char *text, size_t len, enum proxy_dir dir, struct proxy_rule *out,
		     char *why, size_t why_len);

/* The canonical text ("tcp:8080:10.0.0.5:80", "udp:53:[2001:db8::5]:53")
 * NUL-terminated: its length, -ENOSPC when size is too small
 * (PROXY_RULE_STRLEN always suffices), or -EINVAL for a rule that no parse
 * could give. */
int proxy_rule_format(const struct proxy_rule *r, char *out, size_t size);

/* Same direction, protocol, ports and destination address. */
bool proxy_rule_equal(const struct proxy_rule *a, const struct proxy_rule *b);

#endif
