/* STUN Binding (RFC 8489) for finding our reflexive address: requests with
 * a random 96-bit transaction id (optionally with FINGERPRINT), a strict
 * parser for the responses (XOR-MAPPED-ADDRESS, fallback MAPPED-ADDRESS,
 * ERROR-CODE, FINGERPRINT verified when present), a test for recognising
 * STUN on a UDP socket shared with WireGuard, and a blocking helper that
 * retransmits (for tests and one-shot tools). No authentication: a
 * MESSAGE-INTEGRITY in a response is skipped, and what follows it ignored,
 * as RFC 8489 section 14.5 says. */
#ifndef NEXD_STUN_H
#define NEXD_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define STUN_MAGIC_COOKIE 0x2112A442u

enum stun_limits {
	STUN_HEADER_LEN = 20,
	STUN_TXID_LEN = 12,
	STUN_REQUEST_MAX = STUN_HEADER_LEN + 8,   /* header + FINGERPRINT */
	STUN_MESSAGE_MAX = 1500,                 /* largest response accepted */
	STUN_ATTRS_MAX = 64,                     /* attributes in one response */
	STUN_REASON_MAX = 128,                   /* bytes of an error reason kept */
	STUN_RTO_MS = 500,                       /* initial retransmission timeout */
};

enum stun_type {
	STUN_BINDING_REQUEST = 0x0001,
	STUN_BINDING_SUCCESS = 0x0101,
	STUN_BINDING_ERROR = 0x0111,
};

enum stun_attr {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_FINGERPRINT = 0x8028,
};

struct stun_txid {
	uint8_t b[STUN_TXID_LEN];
};

/* A Binding request with a fresh random transaction id (written to *txid).
 * Returns the message length, or -ENOSPC if cap is too small. */
int stun_request_build(uint8_t *buf, size_t cap, bool fingerprint, struct stun_txid *txid);
/* The same with a given transaction id (tests). */
int stun_request_build_txid(uint8_t *buf, size_t cap, bool fingerprint,
			    const struct stun_txid *txid);

/* A datagram that looks like STUN: at least a header, the first two bits
 * zero, the magic cookie at bytes 4..7, a length that is a multiple of 4
 * and matches the datagram. WireGuard messages never match: their bytes
 * 2..3 are zero, so the datagram would have to be 20 bytes long, and no
 * WireGuard message is. */
bool stun_is_message(const uint8_t *buf, size_t len);

struct stun_response {
	union sockaddr_any mapped;    /* success: our reflexive address */
	bool from_xor;                /* mapped came from XOR-MAPPED-ADDRESS */
	bool fingerprint;             /* a FINGERPRINT was present (and verified) */
	unsigned error_code;          /* error response: 300..699 */
	char reason[STUN_REASON_MAX]; /* error response: its reason, printable */
};

/* Parses a Binding response to the request with transaction id `txid`.
 *   0              success, out->mapped set
 *   -ECONNREFUSED  an error response, out->error_code and out->reason set
 *   -ESRCH         well-formed, but for another transaction
 *   -EPROTO        well-formed STUN, but not a Binding response, or with a
 *                  comprehension-required attribute we do not know
 *   -ENOENT        a success response without a mapped address
 *   -EBADMSG       malformed: truncated, bad cookie, lengths, padding,
 *                  attribute overrun, bad address family or length, wrong
 *                  FINGERPRINT, trailing bytes
 * `out` is written only for 0 and -ECONNREFUSED. */
int stun_response_parse(const uint8_t *buf, size_t len, const struct stun_txid *txid,
			struct stun_response *out);

/* A sentence for the errors above (and -ETIMEDOUT of stun_binding). */
const char *stun_strerror(int err);

/* Blocking: sends a Binding request (with FINGERPRINT) from the unconnected
 * UDP socket `fd` (an AF_INET6 socket may ask an IPv4 server: the address is
 * mapped) to `server` and waits for the answer, retransmitting `tries` times
 * with RFC 8489 timing (RTO 500 ms, doubling). Datagrams from other
 * addresses and answers to other transactions are ignored. Returns as
 * stun_response_parse; -ETIMEDOUT when nothing came, or the error of the
 * last bad answer from the server when only bad answers came. */
int stun_binding(int fd, const union sockaddr_any *server, unsigned tries,
		 struct stun_response *out);

/* ------------------------------------------------------------------------
 * The wire, shared with turn.c (TURN is STUN with more methods and
 * attributes): the header, the attribute walk, addresses, ERROR-CODE and
 * FINGERPRINT, each with explicit bounds.
 */

enum stun_class {
	STUN_CLASS_MASK = 0x0110,
	STUN_CLASS_REQUEST = 0x0000,
	STUN_CLASS_INDICATION = 0x0010,
	STUN_CLASS_SUCCESS = 0x0100,
	STUN_CLASS_ERROR = 0x0110,
};

/* The 12-bit method of a message type (the class bits taken out), and
 * the type of a method in a class. */
uint16_t stun_type_method(uint16_t type);
uint16_t stun_type_of(uint16_t method, uint16_t cls);

/* The header of a message that fills buf exactly: at least 20 bytes, the
 * first two bits zero, the magic cookie, a length that is a multiple of 4
 * and covers exactly the rest of buf. 0 with its type and a pointer to
 * its transaction id, or -EBADMSG. */
int stun_header_parse(const uint8_t *buf, size_t len, uint16_t *type, const uint8_t **txid);

/* One attribute: its type, the length of its value, the value (a pointer
 * into the message) and the offset of its 4-byte header in the message. */
struct stun_tlv {
	uint16_t type;
	uint16_t len;
	const uint8_t *val;
	size_t at;
};

/* Walks the attributes of a message whose header stun_header_parse took.
 * stun_attr_next checks what holds for every message: a value and its
 * padding (contents ignored) within the message, at most STUN_ATTRS_MAX
 * attributes, a FINGERPRINT of 4 bytes whose CRC-32 matches and after
 * which nothing follows. A FINGERPRINT is returned like any attribute
 * (and sets w->fingerprint). 1 with the next attribute in *a, 0 at the
 * end, or -EBADMSG (sticky). */
struct stun_attr_walk {
	const uint8_t *msg;
	size_t len;
	size_t off;
	unsigned n;
	bool fingerprint;
	bool err;
};
void stun_attr_walk_init(struct stun_attr_walk *w, const uint8_t *msg, size_t len);
int stun_attr_next(struct stun_attr_walk *w, struct stun_tlv *a);

/* The value of MAPPED-ADDRESS (xor false) or of an XOR-...-ADDRESS (xor
 * true: XOR-MAPPED-, XOR-PEER-, XOR-RELAYED-ADDRESS) into *out: 0, or
 * -EBADMSG when the family is unknown, the length does not fit it, or the
 * port or address is zero. */
int stun_addr_decode(const uint8_t *val, size_t len, bool xor, const uint8_t txid[STUN_TXID_LEN],
		     union sockaddr_any *out);
/* An XOR-...-ADDRESS value for a (v4-mapped: as IPv4) address into out:
 * its length (8 or 20), or -EINVAL for another family. */
int stun_xor_addr_encode(uint8_t out[20], const union sockaddr_any *a, const uint8_t txid[STUN_TXID_LEN]);

/* ERROR-CODE: the code (300..699) and the reason, printable ('?' for any
 * other byte), cut to reason_cap - 1 bytes. 0 or -EBADMSG. */
int stun_error_decode(const uint8_t *val, size_t len, unsigned *code, char *reason, size_t reason_cap);

/* CRC-32 of len bytes, xor 0x5354554e: the FINGERPRINT value of a message
 * whose first len bytes (with a header length that counts FINGERPRINT)
 * precede it. */
uint32_t stun_fingerprint(const uint8_t *msg, size_t len);

#endif
