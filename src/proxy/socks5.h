/* SOCKS5 server side (RFC 1928, with RFC 1929 username/password): an
 * incremental parser of the client's byte stream up to a complete CONNECT
 * request, and the encoder of the reply. No I/O, no allocation.
 *
 * Use: socks5_init(); then for the bytes read from the client,
 * socks5_feed() until it returns SOCKS5_REQUEST or SOCKS5_CLOSE; after
 * every call send the out_len bytes it wrote to out (the method selection
 * and authentication replies, or the error reply before a close), then drop
 * the consumed bytes. On SOCKS5_REQUEST, socks5_request() gives the
 * destination; connect to it and send socks5_reply() (succeeded with the
 * bound address, or the failure code, then close). Bytes after the request
 * (data the client sent early) are not consumed: they belong to the stream.
 *
 * Decisions:
 *   - partial messages are kept in the struct: every byte handed over is
 *     consumed until a message is complete or wrong, and the result does
 *     not depend on how the stream is split;
 *   - a greeting whose version is not 5 is closed without a reply (the
 *     client does not speak SOCKS5); NMETHODS 0 gets 0xFF like "no
 *     acceptable method";
 *   - method 0x00 is chosen when no authentication is required and the
 *     client offers it, 0x02 when authentication is required and offered;
 *     anything else gets 0xFF and a close (a client offering only 0x02 to
 *     a server without authentication is refused too);
 *   - RFC 1929: a version other than 1, ULEN 0 or PLEN 0 gets status 1 and
 *     a close, as soon as the byte is read; the credentials are compared in
 *     constant time (sodium_memcmp over 255 bytes) and the received
 *     password is wiped from the struct;
 *   - the request: VER not 5 or RSV not 0 get REP 0x01 (general failure),
 *     ATYP not 1, 3 or 4 gets 0x08, as soon as the byte is read; a domain
 *     name of length 0 or with a NUL byte gets 0x01; a command other than
 *     CONNECT (BIND, UDP ASSOCIATE, or unknown) is read to the end of the
 *     request and gets 0x07 (command not supported) and a close;
 *   - error replies carry an all-zero IPv4 bound address;
 *   - after SOCKS5_REQUEST or SOCKS5_CLOSE, socks5_feed returns the same
 *     result again, consuming and writing nothing. */
#ifndef PROXY_SOCKS5_H
#define PROXY_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* RFC 1928 reply codes (REP). */
enum {
	SOCKS5_REP_SUCCEEDED = 0x00,
	SOCKS5_REP_GENERAL_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02,          /* connection not allowed by ruleset */
	SOCKS5_REP_NETWORK_UNREACHABLE = 0x03,
	SOCKS5_REP_HOST_UNREACHABLE = 0x04,
	SOCKS5_REP_CONNECTION_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_COMMAND_NOT_SUPPORTED = 0x07,
	SOCKS5_REP_ADDRESS_NOT_SUPPORTED = 0x08, /* address type not supported */
};

/* Commands (CMD), address types (ATYP), methods. */
enum {
	SOCKS5_CMD_CONNECT = 0x01,
	SOCKS5_CMD_BIND = 0x02,
	SOCKS5_CMD_UDP_ASSOCIATE = 0x03,
	SOCKS5_ATYP_IPV4 = 0x01,
	SOCKS5_ATYP_DOMAIN = 0x03,
	SOCKS5_ATYP_IPV6 = 0x04,
	SOCKS5_METHOD_NONE = 0x00,
	SOCKS5_METHOD_USERPASS = 0x02,
	SOCKS5_METHOD_UNACCEPTABLE = 0xff,
};

enum {
	SOCKS5_CRED_MAX = 255,                  /* bytes of a username or password */
	SOCKS5_DOMAIN_MAX = 255,
	/* a reply: 4 + 16 (IPv6) + 2 */
	SOCKS5_REPLY_MAX = 22,
	/* out of one socks5_feed: method selection 2 + auth status 2 + error reply 10 */
	SOCKS5_FEED_OUT_MAX = 14,
	/* the longest client message: RFC 1929 with 255-byte username and password */
	SOCKS5_MSG_MAX = 3 + 2 * SOCKS5_CRED_MAX,
};

/* socks5_feed results (negative errno for a bad call). */
enum socks5_result {
	SOCKS5_NEED_MORE = 0,   /* everything was consumed; feed more */
	SOCKS5_REQUEST = 1,     /* a CONNECT request is complete: socks5_request() */
	SOCKS5_CLOSE = 2,       /* send out (maybe empty), then close */
};

struct socks5_config {
	bool auth_required;     /* RFC 1929 username/password, else no authentication */
	const char *username;   /* when auth_required: 1..255 bytes, NUL-terminated */
	const char *password;   /* when auth_required: 1..255 bytes, NUL-terminated */
};

struct socks5_request {
	uint8_t cmd;                             /* SOCKS5_CMD_CONNECT */
	uint8_t atyp;                            /* SOCKS5_ATYP_IPV4, _IPV6 or _DOMAIN */
	uint8_t addr[16];                        /* IPv4: first 4 bytes; IPv6: 16; network order */
	uint8_t domain_len;                      /* _DOMAIN: 1..255 */
	char domain[SOCKS5_DOMAIN_MAX + 1];      /* _DOMAIN: NUL-terminated, no NUL inside */
	uint16_t port;                           /* host order (may be 0, as the client sent it) */
};

/* Kept by the caller (on the stack, in a connection struct); fields private. */
struct socks5 {
	int state;
	bool auth_required;
	uint8_t ulen, plen;
	uint8_t user[SOCKS5_CRED_MAX];           /* zero-padded */
	uint8_t pass[SOCKS5_CRED_MAX];           /* zero-padded */
	size_t have;                             /* bytes of msg so far */
	uint8_t msg[SOCKS5_MSG_MAX];             /* the client message being read */
	struct socks5_request req;
};

size_t socks5_size(void);

/* 0, or -EINVAL (a NULL argument; auth_required with a username or password
 * that is NULL, empty or longer than 255 bytes). The credentials are copied. */
int socks5_init(struct socks5 *s, const struct socks5_config *cfg);

/* Wipes the struct (credentials included); socks5_init again to reuse. */
void socks5_clear(struct socks5 *s);

/* Consumes bytes of the client stream from in, writes what to send back to
 * out (out_size must be at least SOCKS5_FEED_OUT_MAX). Returns a
 * socks5_result, or -EINVAL (a NULL argument) or -ENOSPC (out_size too
 * small), then nothing consumed or written. */
int socks5_feed(struct socks5 *s, const uint8_t *in, size_t len, size_t *consumed, uint8_t *out,
		size_t out_size, size_t *out_len);

/* The request after SOCKS5_REQUEST, else NULL. */
const struct socks5_request *socks5_request(const struct socks5 *s);

/* Encodes a reply: VER 5, rep, RSV 0, then the bound address and port
 * (AF_INET, or AF_INET6 - an IPv4-mapped one as IPv4; all-zero IPv4 and
 * port 0 when bound is NULL). Its length (10 or 22), or 0 when rep is not
 * one of the codes above, the family is neither, or size is too small. */
size_t socks5_reply(uint8_t rep, const struct sockaddr *bound, uint8_t *out, size_t size);

/* The reply code for a failed connect (a positive or negative errno):
 * ECONNREFUSED -> connection refused, ENETUNREACH -> network unreachable,
 * EHOSTUNREACH/ETIMEDOUT -> host unreachable, EACCES/EPERM -> not allowed,
 * EAFNOSUPPORT -> address type not supported, else general failure. */
uint8_t socks5_rep_from_errno(int err);

#endif
