#include "nexd/stuncheck.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define ATTR_USERNAME 0x0006
#define ATTR_PRIORITY 0x0024
#define ATTR_USE_CANDIDATE 0x0025

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The header of a message of type `type` and body length len. */
static void header(uint8_t *buf, uint16_t type, size_t len, const struct stun_txid *txid)
{
	put16(buf, type);
	put16(buf + 2, (uint16_t)len);
	put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid->b, STUN_TXID_LEN);
}

/* FINGERPRINT at p, over everything before it. Returns the end. */
static uint8_t *fingerprint(uint8_t *buf, uint8_t *p)
{
	put16(p, STUN_ATTR_FINGERPRINT);
	put16(p + 2, 4);
	put32(p + 4, stun_fingerprint(buf, (size_t)(p - buf)));
	return p + 8;
}

static void key_id(const uint8_t key[32], char out[STUNCHECK_ID_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < STUNCHECK_ID_LEN / 2; i++) {
		out[2 * i] = hex[key[i] >> 4];
		out[2 * i + 1] = hex[key[i] & 15];
	}
}

int stuncheck_request_build(uint8_t *buf, size_t cap, const uint8_t to[32], struct stun_txid *txid)
{
	uint8_t *p = buf + STUN_HEADER_LEN;

	if (cap < STUNCHECK_REQUEST_MAX)
		return -ENOSPC;
	randombytes_buf(txid->b, STUN_TXID_LEN);
	header(buf, STUN_BINDING_REQUEST, STUNCHECK_REQUEST_MAX - STUN_HEADER_LEN, txid);
	put16(p, ATTR_USERNAME);
	put16(p + 2, STUNCHECK_ID_LEN);
	key_id(to, (char *)p + 4);
	p = fingerprint(buf, p + 4 + STUNCHECK_ID_LEN);
	return (int)(p - buf);
}

int stuncheck_request_parse(const uint8_t *buf, size_t len, const uint8_t me[32], struct stun_txid *txid,
			    bool *for_me)
{
	struct stun_attr_walk w;
	struct stun_tlv a;
	const uint8_t *id_bytes;
	char id[STUNCHECK_ID_LEN];
	uint16_t type;
	int r;

	*for_me = false;
	if (stun_header_parse(buf, len, &type, &id_bytes))
		return -EBADMSG;
	key_id(me, id);
	stun_attr_walk_init(&w, buf, len);
	while ((r = stun_attr_next(&w, &a)) == 1) {
		if (a.type == ATTR_USERNAME) {
			*for_me = a.len == STUNCHECK_ID_LEN && !memcmp(a.val, id, STUNCHECK_ID_LEN);
		} else if (a.type < 0x8000 && a.type != STUN_ATTR_MESSAGE_INTEGRITY && a.type != ATTR_PRIORITY &&
			   a.type != ATTR_USE_CANDIDATE) {
			r = -EPROTO; /* comprehension-required, and not of a plain request */
			break;
		}
	}
	if (r < 0 || type != STUN_BINDING_REQUEST) {
		*for_me = false;
		return r == -EBADMSG ? -EBADMSG : -EPROTO;
	}
	memcpy(txid->b, id_bytes, STUN_TXID_LEN);
	return 0;
}

int stuncheck_response_build(uint8_t *buf, size_t cap, const struct stun_txid *txid,
			     const union sockaddr_any *from)
{
	uint8_t val[20], *p = buf + STUN_HEADER_LEN;
	int alen = stun_xor_addr_encode(val, from, txid->b);
	size_t len;

	if (alen < 0)
		return -EAFNOSUPPORT;
	len = STUN_HEADER_LEN + 4 + (size_t)alen + 8;
	if (cap < len)
		return -ENOSPC;
	header(buf, STUN_BINDING_SUCCESS, len - STUN_HEADER_LEN, txid);
	put16(p, STUN_ATTR_XOR_MAPPED_ADDRESS);
	put16(p + 2, (uint16_t)alen);
	memcpy(p + 4, val, (size_t)alen);
	fingerprint(buf, p + 4 + alen);
	return (int)len;
}
