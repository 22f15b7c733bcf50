/* TURN (RFC 8656) messages for a client, over the STUN of RFC 8489: pure
 * building and parsing, no sockets. Long-term credentials (the key is
 * MD5(username ":" realm ":" password), RFC 8489 9.2.2), MESSAGE-INTEGRITY
 * (HMAC-SHA1) and FINGERPRINT on every request; Allocate, Refresh,
 * CreatePermission, ChannelBind; ChannelData (a 4-byte header, padded to 4
 * over TCP); the framing of a TCP/TLS stream. Every attribute is parsed
 * with explicit bounds; fuzzed (tests/fuzz/fuzz_turn.c) and unit-tested
 * with the sample messages of RFC 5769. */
#ifndef NEXD_TURN_H
#define NEXD_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/addr.h"
#include "nexd/stun.h"

enum turn_limits {
	TURN_MESSAGE_MAX = 1500,            /* largest STUN message built or accepted */
	TURN_USERNAME_MAX = 255,            /* bytes, printable ASCII */
	TURN_REALM_MAX = 127,
	TURN_NONCE_MAX = 127,
	TURN_KEY_LEN = 16,                  /* MD5 */
	TURN_CHANNEL_MIN = 0x4000,
	TURN_CHANNEL_MAX = 0x4FFF,          /* RFC 8656 12: 0x4000 through 0x4FFF */
	TURN_CHANNEL_HEADER = 4,
	TURN_PEERS_MAX = 8,                 /* XOR-PEER-ADDRESSes in one CreatePermission */
	TURN_DEFAULT_LIFETIME = 600,        /* seconds, an allocation */
	TURN_PERMISSION_LIFETIME = 300,     /* seconds, fixed by the RFC */
	TURN_CHANNEL_LIFETIME = 600,        /* seconds, fixed by the RFC */
	TURN_PASSWORD_MAX = 255,            /* bytes, for turn_key */
};

/* The attributes a TURN client meets (RFC 8656 18, RFC 8489 18.3). */
enum turn_attr {
	TURN_ATTR_USERNAME = 0x0006,
	TURN_ATTR_CHANNEL_NUMBER = 0x000C,
	TURN_ATTR_LIFETIME = 0x000D,
	TURN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	TURN_ATTR_DATA = 0x0013,
	TURN_ATTR_REALM = 0x0014,
	TURN_ATTR_NONCE = 0x0015,
	TURN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	TURN_ATTR_REQUESTED_TRANSPORT = 0x0019,
};

enum turn_method {
	TURN_ALLOCATE = 0x003,
	TURN_REFRESH = 0x004,
	TURN_SEND = 0x006,                  /* indication */
	TURN_DATA = 0x007,                  /* indication */
	TURN_CREATE_PERMISSION = 0x008,
	TURN_CHANNEL_BIND = 0x009,
};

/* What a request is authenticated with: none before the first 401 (realm
 * and nonce NULL), then the realm and nonce the server gave. */
struct turn_auth {
	const char *username;
	const char *realm;
	const char *nonce;
	uint8_t key[TURN_KEY_LEN];
};

/* key = MD5(username ":" realm ":" password). Username, realm and password
 * are taken as UTF-8 bytes as given (no SASLprep: our credentials are
 * ASCII). 0, or -EINVAL for an over-long input. */
int turn_key(const char *username, const char *realm, const char *password, uint8_t key[TURN_KEY_LEN]);

/* Requests, each with a fresh random transaction id written to *txid, and
 * with USERNAME, REALM, NONCE, MESSAGE-INTEGRITY when auth has a realm,
 * and FINGERPRINT always. Return the message length, or -ENOSPC, -EINVAL. */
int turn_build_allocate(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
			uint32_t lifetime);
/* lifetime 0 deletes the allocation. */
int turn_build_refresh(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
		       uint32_t lifetime);
int turn_build_create_permission(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
				 const union sockaddr_any *peers, size_t n);
int turn_build_channel_bind(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
			    uint16_t channel, const union sockaddr_any *peer);

struct turn_response {
	uint16_t method;                    /* enum turn_method */
	bool success;                       /* else an error response */
	unsigned error_code;                /* error: 300..699 (401, 438, 486, ...) */
	char reason[STUN_REASON_MAX];       /* error: printable */
	char realm[TURN_REALM_MAX + 1];     /* 401/438: the realm ("" when absent) */
	char nonce[TURN_NONCE_MAX + 1];     /* 401/438: the nonce */
	bool has_relayed;
	union sockaddr_any relayed;         /* Allocate success: XOR-RELAYED-ADDRESS */
	bool has_mapped;
	union sockaddr_any mapped;          /* Allocate success: XOR-MAPPED-ADDRESS */
	uint32_t lifetime;                  /* Allocate/Refresh success: LIFETIME (0 when absent) */
	bool integrity;                     /* a MESSAGE-INTEGRITY was there and matched key */
};

/* Parses a response to the request with transaction id txid. key NULL: a
 * MESSAGE-INTEGRITY is not checked (the unauthenticated first answer);
 * else a success response must carry a valid one.
 *   0              parsed; out->success tells success or error
 *   -ESRCH         well-formed, another transaction
 *   -EPROTO        not a response, or an unknown comprehension-required attribute
 *   -EACCES        a success response whose MESSAGE-INTEGRITY is missing or wrong
 *   -EBADMSG       malformed (as stun_response_parse), longer than
 *                  TURN_MESSAGE_MAX, or a REALM/NONCE over its limit or
 *                  not printable
 * An error response is not refused for its integrity (a 401 has none);
 * out->integrity tells. Attributes after MESSAGE-INTEGRITY are ignored
 * but for FINGERPRINT (RFC 8489 14.5). out is written only for 0. */
int turn_parse_response(const uint8_t *buf, size_t len, const struct stun_txid *txid, const uint8_t *key,
			struct turn_response *out);

/* A Data indication (RFC 8656 11.6): its XOR-PEER-ADDRESS and DATA (a
 * pointer into buf). 0, -EPROTO (another message, or an unknown
 * comprehension-required attribute), -EBADMSG. */
int turn_parse_data_indication(const uint8_t *buf, size_t len, union sockaddr_any *peer, const uint8_t **data,
			       size_t *dlen);

/* ChannelData: the first two bits of the first byte are 01. */
bool turn_is_channeldata(const uint8_t *buf, size_t len);
/* Writes the 4-byte header for len bytes on channel into hdr. */
void turn_channeldata_header(uint8_t hdr[TURN_CHANNEL_HEADER], uint16_t channel, uint16_t len);
/* Parses one ChannelData message (buf holds exactly one; over TCP the
 * padding to a multiple of 4 may follow the data). 0 with the channel and
 * a pointer to the data, or -EBADMSG (short, channel out of range, length
 * beyond the buffer). */
int turn_channeldata_parse(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data, size_t *dlen);

/* A TCP/TLS stream carries STUN messages and ChannelData back to back:
 * the length of the frame at the start of buf (ChannelData padded to 4),
 * 0 when more bytes are needed to tell, or -EBADMSG (neither kind, or
 * longer than TURN_MESSAGE_MAX + 4). */
ssize_t turn_stream_frame_len(const uint8_t *buf, size_t avail);

/* MESSAGE-INTEGRITY and FINGERPRINT, for any key (a long-term key from
 * turn_key, or a short-term password as it is: RFC 5769's samples).
 * turn_message_sign appends both to the len bytes of header and attributes
 * at buf (len a multiple of 4, at least 20), each over the message with
 * the header length counting up to its own end, and returns the new
 * length, or -ENOSPC (cap), -EINVAL. turn_message_verify checks the first
 * MESSAGE-INTEGRITY of a whole message (and its FINGERPRINT when there is
 * one): 0 matched, -EACCES did not, -ENOENT none, -EBADMSG malformed. */
int turn_message_sign(uint8_t *buf, size_t len, size_t cap, const uint8_t *key, size_t keylen);
int turn_message_verify(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen);

/* A sentence for an error response ("401 Unauthorized: ..."), for logs and
 * status. */
void turn_error_text(const struct turn_response *r, char *out, size_t len);

#endif
