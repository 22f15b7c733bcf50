/* TURN server URIs (RFC 7065), strictly parsed:
 *
 *   turn:HOST[:PORT][?transport=udp|tcp]     plain, over UDP (default) or TCP
 *   turns:HOST[:PORT][?transport=tcp]        TLS over TCP
 *
 * HOST is a DNS name (letters, digits, "-", dot-separated labels of 1 to 63
 * bytes, at most 253 bytes, the last label not all digits), a dotted-quad
 * IPv4 address, or an IPv6 address in brackets (no zone). PORT is 1 to
 * 65535 without leading zeros (default 3478 for turn, 5349 for turns).
 * The scheme and the query are case-insensitive; nothing else is allowed:
 * no "//", no userinfo, no path, no other query parameter, no fragment.
 * Parsed hosts are kept canonical (DNS names in lowercase, IPv6 addresses
 * as inet_ntop writes them), so that formatting a parsed URI and parsing
 * it again gives the same struct. */
#ifndef COMMON_TURNURI_H
#define COMMON_TURNURI_H

#include <stddef.h>
#include <stdint.h>

enum turn_uri_limits {
	TURN_URI_MAX = 288,               /* bytes of a URI text, accepted or written */
	TURN_URI_STRLEN = TURN_URI_MAX + 1,
	TURN_URI_HOST_MAX = 253,          /* a DNS name; an IPv6 address is shorter */
	TURN_URI_PORT = 3478,             /* default port of turn: */
	TURN_URI_TLS_PORT = 5349,         /* default port of turns: */
};

enum turn_transport { TURN_TRANSPORT_UDP, TURN_TRANSPORT_TCP, TURN_TRANSPORT_TLS };

struct turn_uri {
	char host[256];                   /* without brackets */
	uint16_t port;                    /* host order, never 0 */
	enum turn_transport transport;
};

/* 0, or -EINVAL (out untouched). */
int turn_uri_parse(const char *s, struct turn_uri *out);
/* The same on exactly len bytes (a NUL among them is refused). */
int turn_uri_parse_n(const char *s, size_t len, struct turn_uri *out);

/* The canonical text ("turn:203.0.113.30:3478", "turn:[2001:db8::1]:3478?transport=tcp",
 * "turns:relay.example:5349"; the port always written): its length, or
 * -ENOSPC when cap is too small (TURN_URI_STRLEN always suffices) or
 * -EINVAL for a struct no parse could give. */
int turn_uri_format(const struct turn_uri *u, char *out, size_t cap);

/* "udp", "tcp", "tls". */
const char *turn_transport_name(enum turn_transport t);

#endif
