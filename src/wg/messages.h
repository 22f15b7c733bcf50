/* WireGuard wire formats and protocol limits, from the paper ("WireGuard:
 * Next Generation Kernel Network Tunnel", sections 5.4 and 6) and the Linux
 * module's messages.h. All multi-byte integers on the wire are little endian. */
#ifndef WG_MESSAGES_H
#define WG_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_PUBLIC_KEY_LEN 32
#define NOISE_SYMMETRIC_KEY_LEN 32
#define NOISE_TIMESTAMP_LEN 12
#define NOISE_AUTHTAG_LEN 16
#define NOISE_HASH_LEN 32
#define COOKIE_LEN 16
#define COOKIE_NONCE_LEN 24
#define NOISE_ENCRYPTED_LEN(plain) ((plain) + NOISE_AUTHTAG_LEN)

enum wg_limits {
	REKEY_AFTER_MESSAGES_LOG2 = 60,
	REJECT_AFTER_MESSAGES_SLACK = 8192,   /* REJECT = 2^64 - 2^13 - 1 */
	REKEY_TIMEOUT_S = 5,
	REKEY_TIMEOUT_JITTER_MAX_MS = 333,
	REKEY_AFTER_TIME_S = 120,
	REJECT_AFTER_TIME_S = 180,
	INITIATIONS_PER_SECOND = 50,
	MAX_PEERS_PER_DEVICE = 1 << 20,
	KEEPALIVE_TIMEOUT_S = 10,
	MAX_TIMER_HANDSHAKES = 90 / 5,        /* give up after 90 s */
	MAX_QUEUED_INCOMING_HANDSHAKES = 4096,
	MAX_STAGED_PACKETS = 128,
	MAX_QUEUED_PACKETS = 1024,
	COOKIE_SECRET_MAX_AGE_S = 120,
	COOKIE_SECRET_LATENCY_S = 5,
	MESSAGE_PADDING_MULTIPLE = 16,
	WG_DEFAULT_MTU = 1420,
	WG_DEFAULT_PORT = 51820,
};

#define REKEY_AFTER_MESSAGES (1ULL << REKEY_AFTER_MESSAGES_LOG2)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - REJECT_AFTER_MESSAGES_SLACK)

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

/* The first four bytes: type in the low byte, three reserved zero bytes. */
struct message_header {
	uint32_t type; /* le32 */
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_ENCRYPTED_LEN(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[NOISE_ENCRYPTED_LEN(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_ENCRYPTED_LEN(0)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[NOISE_ENCRYPTED_LEN(COOKIE_LEN)];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;
	uint64_t counter; /* le64 */
	uint8_t encrypted_data[];
} __attribute__((packed));

_Static_assert(sizeof(struct message_handshake_initiation) == 148, "initiation size");
_Static_assert(sizeof(struct message_handshake_response) == 92, "response size");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "cookie size");
_Static_assert(sizeof(struct message_data) == 16, "data header size");

#define MESSAGE_MINIMUM_LENGTH (sizeof(struct message_data) + NOISE_AUTHTAG_LEN) /* a keepalive */
/* Largest datagram we accept or send: 16 header + 65535 padded payload + tag. */
#define MESSAGE_MAX_LENGTH 65536
#define DATA_PACKET_HEAD_ROOM sizeof(struct message_data)

/* Classifies a datagram by type and exact size, with zero reserved bytes:
 * returns the message type, or MESSAGE_INVALID. Data messages need at least
 * MESSAGE_MINIMUM_LENGTH bytes. Cheap; does no cryptography. */
enum message_type message_classify(const void *buf, size_t len);

static inline uint32_t le32_load(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline void le32_store(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}
static inline uint64_t le64_load(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)le32_load(b) | (uint64_t)le32_load(b + 4) << 32;
}
static inline void le64_store(void *p, uint64_t v)
{
	le32_store(p, (uint32_t)v);
	le32_store((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#endif
