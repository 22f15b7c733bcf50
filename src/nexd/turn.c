/* TURN (RFC 8656) client messages over the STUN of RFC 8489. Requests are
 * written by a writer whose "no room" error is sticky and checked once;
 * responses and Data indications are read through stun.c's attribute walk,
 * which checks every length against the bytes really there, the padding,
 * the attribute count and the FINGERPRINT. MESSAGE-INTEGRITY is HMAC-SHA1
 * (OpenSSL's EVP_MAC) compared in constant time; the long-term key is MD5
 * (EVP); transaction ids come from libsodium. */
#include "nexd/turn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#define MI_LEN 20                       /* MESSAGE-INTEGRITY: HMAC-SHA1 */
#define REQUESTED_TRANSPORT_UDP 17      /* RFC 8656 18.7: the protocol number */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Printable ASCII, at most max bytes (and at least one when nonempty). */
static bool text_ok(const char *s, size_t max, bool nonempty)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, max + 1);
	if (n > max || (nonempty && n == 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* ------------------------------------------------------------------ crypto */

int turn_key(const char *username, const char *realm, const char *password, uint8_t key[TURN_KEY_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t ul, rl, pl;
	EVP_MD_CTX *ctx;
	int ret = -EIO;

	if (!username || !realm || !password)
		return -EINVAL;
	ul = strnlen(username, TURN_USERNAME_MAX + 1);
	rl = strnlen(realm, TURN_REALM_MAX + 1);
	pl = strnlen(password, TURN_PASSWORD_MAX + 1);
	if (ul > TURN_USERNAME_MAX || rl > TURN_REALM_MAX || pl > TURN_PASSWORD_MAX)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 && EVP_DigestUpdate(ctx, username, ul) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 && EVP_DigestUpdate(ctx, realm, rl) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 && EVP_DigestUpdate(ctx, password, pl) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == TURN_KEY_LEN) {
		memcpy(key, md, TURN_KEY_LEN);
		ret = 0;
	}
	EVP_MD_CTX_free(ctx);
	sodium_memzero(md, sizeof(md));
	return ret;
}

/* HMAC (digest "SHA1" or "SHA256") under key of the first `at` bytes of
 * msg with the header's length field read as mlen: what MESSAGE-INTEGRITY
 * and MESSAGE-INTEGRITY-SHA256 cover (RFC 8489 14.5, 14.6). The MAC length,
 * or -EIO. */
static int hmac_message(const char *digest, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t at,
			uint16_t mlen, uint8_t out[EVP_MAX_MD_SIZE])
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	uint8_t lenb[2];
	size_t outl = 0;
	int ret = -EIO;

	if (at < STUN_HEADER_LEN)
		return -EIO;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return -EIO;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		goto err_free_mac;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	put16(lenb, mlen);
	if (EVP_MAC_init(ctx, key, keylen, params) == 1 && EVP_MAC_update(ctx, msg, 2) == 1 &&
	    EVP_MAC_update(ctx, lenb, 2) == 1 && EVP_MAC_update(ctx, msg + 4, at - 4) == 1 &&
	    EVP_MAC_final(ctx, out, &outl, EVP_MAX_MD_SIZE) == 1)
		ret = (int)outl;
	EVP_MAC_CTX_free(ctx);
err_free_mac:
	EVP_MAC_free(mac);
	return ret;
}

/* Whether the integrity attribute a (MESSAGE-INTEGRITY or -SHA256, its
 * length already checked) matches msg under key: 1, 0, or -EIO. */
static int integrity_matches(const uint8_t *msg, const struct stun_tlv *a, const uint8_t *key, size_t keylen)
{
	bool sha256 = a->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
	uint8_t mac[EVP_MAX_MD_SIZE];
	int n;

	n = hmac_message(sha256 ? "SHA256" : "SHA1", key, keylen, msg, a->at,
			 (uint16_t)(a->at + 4 + a->len - STUN_HEADER_LEN), mac);
	if (n < 0 || (size_t)n < a->len)
		return -EIO;
	return sodium_memcmp(mac, a->val, a->len) == 0;
}

/* ------------------------------------------------------------------ writer */

struct writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool err;      /* no room: sticky */
};

/* Room for an attribute with a value of vlen bytes (its padding zeroed),
 * the header's length updated: a pointer to the value, or NULL. */
static uint8_t *put_attr(struct writer *w, uint16_t type, size_t vlen)
{
	size_t padded = vlen + (4 - vlen % 4) % 4;
	uint8_t *v;

	if (w->err || vlen > 0xFFFF || w->len > w->cap || w->cap - w->len < 4 + padded ||
	    w->len + 4 + padded - STUN_HEADER_LEN > 0xFFFF) {
		w->err = true;
		return NULL;
	}
	put16(w->buf + w->len, type);
	put16(w->buf + w->len + 2, (uint16_t)vlen);
	v = w->buf + w->len + 4;
	memset(v, 0, padded);
	w->len += 4 + padded;
	put16(w->buf + 2, (uint16_t)(w->len - STUN_HEADER_LEN));
	return v;
}

static void put_attr_bytes(struct writer *w, uint16_t type, const void *val, size_t vlen)
{
	uint8_t *v = put_attr(w, type, vlen);

	if (v && vlen)
		memcpy(v, val, vlen);
}

static void put_attr32(struct writer *w, uint16_t type, uint32_t val)
{
	uint8_t *v = put_attr(w, type, 4);

	if (v)
		put32(v, val);
}

/* MESSAGE-INTEGRITY, then FINGERPRINT: each covers what precedes it, with
 * the header length (put_attr's) counting through its own end. */
static int sign(struct writer *w, const uint8_t *key, size_t keylen)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t at = w->len;
	uint8_t *v;

	v = put_attr(w, STUN_ATTR_MESSAGE_INTEGRITY, MI_LEN);
	if (!v)
		return -ENOSPC;
	if (hmac_message("SHA1", key, keylen, w->buf, at, (uint16_t)(w->len - STUN_HEADER_LEN), mac) != MI_LEN)
		return -EIO;
	memcpy(v, mac, MI_LEN);
	return 0;
}

static int add_fingerprint(struct writer *w)
{
	size_t at = w->len;
	uint8_t *v = put_attr(w, STUN_ATTR_FINGERPRINT, 4);

	if (!v)
		return -ENOSPC;
	put32(v, stun_fingerprint(w->buf, at));
	return 0;
}

int turn_message_sign(uint8_t *buf, size_t len, size_t cap, const uint8_t *key, size_t keylen)
{
	struct writer w = { buf, cap, len, false };
	int err;

	if (!buf || !key || keylen == 0 || len < STUN_HEADER_LEN || len % 4 != 0 || len > cap)
		return -EINVAL;
	err = sign(&w, key, keylen);
	if (err == 0)
		err = add_fingerprint(&w);
	return err < 0 ? err : (int)w.len;
}

int turn_message_verify(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen)
{
	struct stun_attr_walk w;
	struct stun_tlv a;
	const uint8_t *txid;
	uint16_t type;
	int err, match = -ENOENT;

	if (!key || keylen == 0)
		return -EINVAL;
	if (stun_header_parse(buf, len, &type, &txid) < 0)
		return -EBADMSG;
	stun_attr_walk_init(&w, buf, len);
	while ((err = stun_attr_next(&w, &a)) > 0) {
		if (a.type != STUN_ATTR_MESSAGE_INTEGRITY || match != -ENOENT)
			continue;
		if (a.len != MI_LEN)
			return -EBADMSG;
		match = integrity_matches(buf, &a, key, keylen);
		if (match < 0)
			return match;
	}
	if (err < 0)
		return -EBADMSG;
	if (match == -ENOENT)
		return -ENOENT;
	return match ? 0 : -EACCES;
}

/* ---------------------------------------------------------------- requests */

struct request {
	uint16_t method;
	bool transport;                 /* REQUESTED-TRANSPORT: UDP */
	bool has_lifetime;
	uint32_t lifetime;
	bool has_channel;
	uint16_t channel;
	const union sockaddr_any *peers;
	size_t npeers;
};

static bool auth_ok(const struct turn_auth *auth)
{
	return text_ok(auth->username, TURN_USERNAME_MAX, true) && text_ok(auth->realm, TURN_REALM_MAX, false) &&
	       text_ok(auth->nonce, TURN_NONCE_MAX, true);
}

static int build(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
		 const struct request *rq)
{
	struct writer w = { buf, cap < TURN_MESSAGE_MAX ? cap : TURN_MESSAGE_MAX, STUN_HEADER_LEN, false };
	bool authed = auth && auth->realm;
	struct stun_txid id;
	uint8_t *v;
	int err;

	if (!buf || !txid || (authed && !auth_ok(auth)))
		return -EINVAL;
	if (w.cap < STUN_HEADER_LEN)
		return -ENOSPC;
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(id.b, sizeof(id.b));
	put16(buf, stun_type_of(rq->method, STUN_CLASS_REQUEST));
	put16(buf + 2, 0);
	put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, id.b, STUN_TXID_LEN);

	if (rq->transport) {
		v = put_attr(&w, TURN_ATTR_REQUESTED_TRANSPORT, 4);
		if (v)
			v[0] = REQUESTED_TRANSPORT_UDP;   /* then 3 bytes RFFU, zero */
	}
	if (rq->has_lifetime)
		put_attr32(&w, TURN_ATTR_LIFETIME, rq->lifetime);
	if (rq->has_channel) {
		v = put_attr(&w, TURN_ATTR_CHANNEL_NUMBER, 4);
		if (v)
			put16(v, rq->channel);            /* then 2 bytes RFFU, zero */
	}
	for (size_t i = 0; i < rq->npeers; i++) {
		uint8_t a[20];
		int n = stun_xor_addr_encode(a, &rq->peers[i], id.b);

		if (n < 0)
			return -EINVAL;
		put_attr_bytes(&w, TURN_ATTR_XOR_PEER_ADDRESS, a, (size_t)n);
	}
	if (authed) {
		put_attr_bytes(&w, TURN_ATTR_USERNAME, auth->username, strlen(auth->username));
		put_attr_bytes(&w, TURN_ATTR_REALM, auth->realm, strlen(auth->realm));
		put_attr_bytes(&w, TURN_ATTR_NONCE, auth->nonce, strlen(auth->nonce));
		if (w.err)
			return -ENOSPC;
		err = sign(&w, auth->key, TURN_KEY_LEN);
		if (err < 0)
			return err;
	}
	err = add_fingerprint(&w);
	if (err < 0 || w.err)
		return -ENOSPC;
	*txid = id;
	return (int)w.len;
}

int turn_build_allocate(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
			uint32_t lifetime)
{
	struct request rq = {
		.method = TURN_ALLOCATE, .transport = true, .has_lifetime = lifetime != 0, .lifetime = lifetime,
	};

	return build(buf, cap, txid, auth, &rq);
}

int turn_build_refresh(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
		       uint32_t lifetime)
{
	struct request rq = { .method = TURN_REFRESH, .has_lifetime = true, .lifetime = lifetime };

	return build(buf, cap, txid, auth, &rq);
}

int turn_build_create_permission(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
				 const union sockaddr_any *peers, size_t n)
{
	struct request rq = { .method = TURN_CREATE_PERMISSION, .peers = peers, .npeers = n };

	if (!peers || n == 0 || n > TURN_PEERS_MAX)
		return -EINVAL;
	return build(buf, cap, txid, auth, &rq);
}

int turn_build_channel_bind(uint8_t *buf, size_t cap, struct stun_txid *txid, const struct turn_auth *auth,
			    uint16_t channel, const union sockaddr_any *peer)
{
	struct request rq = {
		.method = TURN_CHANNEL_BIND, .has_channel = true, .channel = channel, .peers = peer, .npeers = 1,
	};

	if (!peer || channel < TURN_CHANNEL_MIN || channel > TURN_CHANNEL_MAX)
		return -EINVAL;
	return build(buf, cap, txid, auth, &rq);
}

/* --------------------------------------------------------------- responses */

/* Comprehension-required attributes (0x0000-0x7FFF) that a response or an
 * indication may carry and that need nothing from a client: we know them,
 * so they are no reason to refuse the message (RFC 8489 7.3.3). */
static bool known_required(uint16_t type)
{
	switch (type) {
	case 0x0001:                                          /* MAPPED-ADDRESS */
	case 0x0002: case 0x0003: case 0x0004: case 0x0005:   /* RFC 3489 legacy */
	case TURN_ATTR_USERNAME:
	case 0x000A:                                          /* UNKNOWN-ATTRIBUTES */
	case TURN_ATTR_CHANNEL_NUMBER:
	case TURN_ATTR_XOR_PEER_ADDRESS:
	case TURN_ATTR_DATA:
	case 0x0017:                                          /* REQUESTED-ADDRESS-FAMILY */
	case 0x0018:                                          /* EVEN-PORT */
	case TURN_ATTR_REQUESTED_TRANSPORT:
	case 0x001A:                                          /* DONT-FRAGMENT */
	case 0x001D: case 0x001E:                             /* PASSWORD-ALGORITHM, USERHASH */
	case 0x0022:                                          /* RESERVATION-TOKEN */
	case 0x0026: case 0x0027:                             /* PADDING, RESPONSE-PORT */
	case 0x002A:                                          /* CONNECTION-ID (RFC 6062) */
		return true;
	}
	return false;
}

/* REALM or NONCE: at most max bytes, printable ASCII, into out (max + 1). */
static int copy_text(const struct stun_tlv *a, char *out, size_t max)
{
	if (a->len > max)
		return -EBADMSG;
	for (size_t i = 0; i < a->len; i++)
		if (a->val[i] < 0x20 || a->val[i] > 0x7e)
			return -EBADMSG;
	memcpy(out, a->val, a->len);
	out[a->len] = '\0';
	return 0;
}

int turn_parse_response(const uint8_t *buf, size_t len, const struct stun_txid *txid, const uint8_t *key,
			struct turn_response *out)
{
	struct stun_attr_walk w;
	struct stun_tlv a;
	struct turn_response r;
	bool have_error = false, have_realm = false, have_nonce = false, have_lifetime = false;
	bool after_integrity = false, unknown = false;
	const uint8_t *id;
	uint16_t type, cls;
	int err;

	if (len > TURN_MESSAGE_MAX || stun_header_parse(buf, len, &type, &id) < 0)
		return -EBADMSG;
	cls = type & STUN_CLASS_MASK;
	if (cls != STUN_CLASS_SUCCESS && cls != STUN_CLASS_ERROR)
		return -EPROTO;
	if (memcmp(id, txid->b, STUN_TXID_LEN) != 0)
		return -ESRCH;

	memset(&r, 0, sizeof(r));
	r.method = stun_type_method(type);
	r.success = cls == STUN_CLASS_SUCCESS;
	stun_attr_walk_init(&w, buf, len);
	while ((err = stun_attr_next(&w, &a)) > 0) {
		if (a.type == STUN_ATTR_FINGERPRINT || after_integrity)
			continue;   /* FINGERPRINT checked by the walk; RFC 8489 14.5 */
		switch (a.type) {
		case TURN_ATTR_XOR_RELAYED_ADDRESS:
			if (r.has_relayed)
				break;   /* only the first counts */
			if (stun_addr_decode(a.val, a.len, true, id, &r.relayed) < 0)
				return -EBADMSG;
			r.has_relayed = true;
			break;
		case STUN_ATTR_XOR_MAPPED_ADDRESS:
			if (r.has_mapped)
				break;
			if (stun_addr_decode(a.val, a.len, true, id, &r.mapped) < 0)
				return -EBADMSG;
			r.has_mapped = true;
			break;
		case TURN_ATTR_LIFETIME:
			if (a.len != 4)
				return -EBADMSG;
			if (!have_lifetime)
				r.lifetime = rd32(a.val);
			have_lifetime = true;
			break;
		case STUN_ATTR_ERROR_CODE:
			if (have_error)
				break;
			if (stun_error_decode(a.val, a.len, &r.error_code, r.reason, sizeof(r.reason)) < 0)
				return -EBADMSG;
			have_error = true;
			break;
		case TURN_ATTR_REALM:
			if (!have_realm && copy_text(&a, r.realm, TURN_REALM_MAX) < 0)
				return -EBADMSG;
			have_realm = true;
			break;
		case TURN_ATTR_NONCE:
			if (!have_nonce && copy_text(&a, r.nonce, TURN_NONCE_MAX) < 0)
				return -EBADMSG;
			have_nonce = true;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY:
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			if (a.type == STUN_ATTR_MESSAGE_INTEGRITY ? a.len != MI_LEN
								  : (a.len < 16 || a.len > 32 || a.len % 4 != 0))
				return -EBADMSG;
			after_integrity = true;
			if (key) {
				int m = integrity_matches(buf, &a, key, TURN_KEY_LEN);

				if (m < 0)
					return m;
				r.integrity = m == 1;
			}
			break;
		default:
			if (a.type < 0x8000 && !known_required(a.type))
				unknown = true;
			break;
		}
	}
	if (err < 0)
		return -EBADMSG;
	if (unknown)
		return -EPROTO;
	if (!r.success && !have_error)
		return -EBADMSG;
	/* An error (a 401 above all) need not be authenticated: it only ends
	 * the transaction; r.integrity tells whether it was. */
	if (r.success && key && !r.integrity)
		return -EACCES;
	*out = r;
	return 0;
}

int turn_parse_data_indication(const uint8_t *buf, size_t len, union sockaddr_any *peer, const uint8_t **data,
			       size_t *dlen)
{
	struct stun_attr_walk w;
	struct stun_tlv a, d = { 0 };
	union sockaddr_any p;
	bool have_peer = false, have_data = false, after_integrity = false, unknown = false;
	const uint8_t *id;
	uint16_t type;
	int err;

	if (stun_header_parse(buf, len, &type, &id) < 0)
		return -EBADMSG;
	if (type != stun_type_of(TURN_DATA, STUN_CLASS_INDICATION))
		return -EPROTO;
	stun_attr_walk_init(&w, buf, len);
	while ((err = stun_attr_next(&w, &a)) > 0) {
		if (a.type == STUN_ATTR_FINGERPRINT || after_integrity)
			continue;
		switch (a.type) {
		case TURN_ATTR_XOR_PEER_ADDRESS:
			if (have_peer)
				break;
			if (stun_addr_decode(a.val, a.len, true, id, &p) < 0)
				return -EBADMSG;
			have_peer = true;
			break;
		case TURN_ATTR_DATA:
			if (!have_data)
				d = a;
			have_data = true;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY:
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			after_integrity = true;   /* an indication has none; what follows is ignored */
			break;
		default:
			if (a.type < 0x8000 && !known_required(a.type))
				unknown = true;
			break;
		}
	}
	if (err < 0)
		return -EBADMSG;
	if (unknown)
		return -EPROTO;
	if (!have_peer || !have_data)
		return -EBADMSG;
	*peer = p;
	*data = d.val;
	*dlen = d.len;
	return 0;
}

/* ------------------------------------------------------------- ChannelData */

bool turn_is_channeldata(const uint8_t *buf, size_t len)
{
	return len >= TURN_CHANNEL_HEADER && (buf[0] & 0xC0) == 0x40;
}

void turn_channeldata_header(uint8_t hdr[TURN_CHANNEL_HEADER], uint16_t channel, uint16_t len)
{
	put16(hdr, channel);
	put16(hdr + 2, len);
}

int turn_channeldata_parse(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **data, size_t *dlen)
{
	uint16_t ch, n;
	size_t rest;

	if (len < TURN_CHANNEL_HEADER)
		return -EBADMSG;
	ch = rd16(buf);
	n = rd16(buf + 2);
	if (ch < TURN_CHANNEL_MIN || ch > TURN_CHANNEL_MAX)
		return -EBADMSG;
	if (n > len - TURN_CHANNEL_HEADER)
		return -EBADMSG;
	rest = len - TURN_CHANNEL_HEADER - n;
	if (rest != 0 && rest != (4 - n % 4u) % 4u)
		return -EBADMSG;   /* only the padding to 4 may follow */
	*channel = ch;
	*data = buf + TURN_CHANNEL_HEADER;
	*dlen = n;
	return 0;
}

ssize_t turn_stream_frame_len(const uint8_t *buf, size_t avail)
{
	size_t frame;

	if (avail == 0)
		return 0;
	switch (buf[0] & 0xC0) {
	case 0x00:   /* STUN: the cookie tells it from garbage */
		if (avail < 8)
			return 0;
		if (rd32(buf + 4) != STUN_MAGIC_COOKIE || rd16(buf + 2) % 4 != 0)
			return -EBADMSG;
		frame = STUN_HEADER_LEN + (size_t)rd16(buf + 2);
		break;
	case 0x40:   /* ChannelData: 0x4000-0x4FFF, padded to 4 on a stream */
		if ((buf[0] & 0xF0) != 0x40)
			return -EBADMSG;
		if (avail < TURN_CHANNEL_HEADER)
			return 0;
		frame = TURN_CHANNEL_HEADER + (size_t)rd16(buf + 2);
		frame += (4 - frame % 4) % 4;
		break;
	default:
		return -EBADMSG;
	}
	if (frame > TURN_MESSAGE_MAX + 4)
		return -EBADMSG;
	return (ssize_t)frame;
}

/* ------------------------------------------------------------------ errors */

static const char *error_name(unsigned code)
{
	switch (code) {
	case 300: return "Try Alternate";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 405: return "Mobility Forbidden";
	case 420: return "Unknown Attribute";
	case 437: return "Allocation Mismatch";
	case 438: return "Stale Nonce";
	case 440: return "Address Family not Supported";
	case 441: return "Wrong Credentials";
	case 442: return "Unsupported Transport Protocol";
	case 443: return "Peer Address Family Mismatch";
	case 486: return "Allocation Quota Reached";
	case 500: return "Server Error";
	case 508: return "Insufficient Capacity";
	}
	return NULL;
}

void turn_error_text(const struct turn_response *r, char *out, size_t len)
{
	const char *name;
	int rlen;

	if (!out || len == 0)
		return;
	if (r->success) {
		snprintf(out, len, "success");
		return;
	}
	name = error_name(r->error_code);
	rlen = (int)strnlen(r->reason, sizeof(r->reason) - 1);
	if (!name && rlen == 0)
		snprintf(out, len, "%u error", r->error_code);
	else if (!name)
		snprintf(out, len, "%u %.*s", r->error_code, rlen, r->reason);
	else if (rlen == 0 || (strlen(name) == (size_t)rlen && strncasecmp(name, r->reason, (size_t)rlen) == 0))
		snprintf(out, len, "%u %s", r->error_code, name);
	else
		snprintf(out, len, "%u %s: %.*s", r->error_code, name, rlen, r->reason);
}
