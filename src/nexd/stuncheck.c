#include "nexd/stuncheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>
#include <zlib.h>

#define ATTR_USERNAME 0x0006
#define ATTR_FINGERPRINT 0x8028
#define ATTR_XOR_MAPPED 0x0020
#define FINGERPRINT_XOR 0x5354554eu

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint32_t fingerprint(const uint8_t *msg, size_t len)
{
	return (uint32_t)crc32(0, msg, (uInt)len) ^ FINGERPRINT_XOR;
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
	size_t len = STUNCHECK_REQUEST_MAX;
	uint8_t *v = buf + STUN_HEADER_LEN;

	if (cap < len)
		return -ENOSPC;
	wr16(buf, STUN_BINDING_REQUEST);
	wr16(buf + 2, (uint16_t)(len - STUN_HEADER_LEN));
	wr32(buf + 4, STUN_MAGIC_COOKIE);
	randombytes_buf(txid->b, STUN_TXID_LEN);
	memcpy(buf + 8, txid->b, STUN_TXID_LEN);
	wr16(v, ATTR_USERNAME);
	wr16(v + 2, STUNCHECK_ID_LEN);
	key_id(to, (char *)v + 4);
	v += 4 + STUNCHECK_ID_LEN;
	wr16(v, ATTR_FINGERPRINT);
	wr16(v + 2, 4);
	wr32(v + 4, fingerprint(buf, (size_t)(v - buf)));
	return (int)len;
}

int stuncheck_request_parse(const uint8_t *buf, size_t len, const uint8_t me[32], struct stun_txid *txid,
			    bool *for_me)
{
	size_t off = STUN_HEADER_LEN;
	char id[STUNCHECK_ID_LEN];

	key_id(me, id);
	*for_me = false;

	if (!stun_is_message(buf, len))
		return -EBADMSG;
	if (rd16(buf) != STUN_BINDING_REQUEST)
		return -EPROTO;
	while (off < len) {
		uint16_t type, alen;

		if (len - off < 4)
			return -EBADMSG;
		type = rd16(buf + off);
		alen = rd16(buf + off + 2);
		if ((size_t)alen > len - off - 4 || (size_t)((alen + 3u) & ~3u) > len - off - 4)
			return -EBADMSG;
		if (type == ATTR_FINGERPRINT) {
			/* the last attribute, over everything before it (the
			 * header's length already counts it, as the sender's did) */
			if (alen != 4 || off + 8 != len)
				return -EBADMSG;
			if (fingerprint(buf, off) != rd32(buf + off + 4))
				return -EBADMSG;
		} else if (type < 0x8000) {
			/* comprehension-required: only those of a plain request */
			if (type == ATTR_USERNAME && alen == STUNCHECK_ID_LEN &&
			    !memcmp(buf + off + 4, id, STUNCHECK_ID_LEN))
				*for_me = true;
			else if (type != ATTR_USERNAME && type != 0x0008 /* MESSAGE-INTEGRITY */ &&
			    type != 0x0024 /* PRIORITY */ && type != 0x0025 /* USE-CANDIDATE */)
				return -EPROTO;
		}
		off += 4 + ((alen + 3u) & ~3u);
	}
	memcpy(txid->b, buf + 8, STUN_TXID_LEN);
	return 0;
}

int stuncheck_response_build(uint8_t *buf, size_t cap, const struct stun_txid *txid,
			     const union sockaddr_any *from)
{
	union sockaddr_any a = *from;
	size_t alen, len;
	uint8_t *v;

	addr_unmap(&a);
	if (a.sa.sa_family == AF_INET)
		alen = 8;
	else if (a.sa.sa_family == AF_INET6)
		alen = 20;
	else
		return -EAFNOSUPPORT;
	len = STUN_HEADER_LEN + 4 + alen + 8;
	if (cap < len)
		return -ENOSPC;
	wr16(buf, STUN_BINDING_SUCCESS);
	wr16(buf + 2, (uint16_t)(len - STUN_HEADER_LEN));
	wr32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid->b, STUN_TXID_LEN);
	v = buf + STUN_HEADER_LEN;
	wr16(v, ATTR_XOR_MAPPED);
	wr16(v + 2, (uint16_t)alen);
	v[4] = 0;
	if (a.sa.sa_family == AF_INET) {
		uint32_t ip = ntohl(a.in4.sin_addr.s_addr);

		v[5] = 0x01;
		wr16(v + 6, (uint16_t)(ntohs(a.in4.sin_port) ^ (STUN_MAGIC_COOKIE >> 16)));
		wr32(v + 8, ip ^ STUN_MAGIC_COOKIE);
	} else {
		v[5] = 0x02;
		wr16(v + 6, (uint16_t)(ntohs(a.in6.sin6_port) ^ (STUN_MAGIC_COOKIE >> 16)));
		memcpy(v + 8, &a.in6.sin6_addr, 16);
		for (int i = 0; i < 4; i++)
			v[8 + i] ^= buf[4 + i];          /* the cookie */
		for (int i = 0; i < 12; i++)
			v[12 + i] ^= txid->b[i];         /* then the transaction id */
	}
	v += 4 + alen;
	wr16(v, ATTR_FINGERPRINT);
	wr16(v + 2, 4);
	wr32(v + 4, fingerprint(buf, (size_t)(v - buf)));
	return (int)len;
}
