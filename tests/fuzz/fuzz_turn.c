/* libFuzzer target: the TURN client's parsers of what a server sends.
 * turn_parse_response with and without a key (the key the seeds under
 * tests/fuzz/corpus/turn/ are signed with, so that the fuzzer reaches a
 * MESSAGE-INTEGRITY that matches), with the transaction id taken from the
 * input (bytes 8..19, to reach the attribute walk) and with a fixed one;
 * turn_parse_data_indication; turn_channeldata_parse; turn_message_verify;
 * and turn_stream_frame_len walking the whole input frame by frame as a
 * TCP stream, each frame handed to the parser of its kind. Besides the
 * sanitizers, the results are checked against what turn.h promises. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/turn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* MD5("user:realm:pass") */
static const uint8_t key[TURN_KEY_LEN] = {
	0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb, 0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc, 0x40, 0xeb,
};

static const struct stun_txid fixed = { { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae } };

static void check_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n >= cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

static void check_addr(const union sockaddr_any *a)
{
	if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)
		abort();
}

static void response(const uint8_t *buf, size_t len, const struct stun_txid *txid, const uint8_t *k)
{
	struct turn_response r;
	char text[64];
	int err = turn_parse_response(buf, len, txid, k, &r);

	switch (err) {
	case 0:
		break;
	case -EACCES:
		if (!k)
			abort();   /* only a key can be wrong */
		/* fall through */
	case -ESRCH:
	case -EPROTO:
		if (!stun_is_message(buf, len))
			abort();
		return;
	case -EBADMSG:
		return;
	default:
		abort();
	}
	if (!stun_is_message(buf, len) || len > TURN_MESSAGE_MAX)
		abort();
	if (r.success) {
		if (k && !r.integrity)
			abort();
		if (r.has_relayed)
			check_addr(&r.relayed);
		if (r.has_mapped)
			check_addr(&r.mapped);
	} else if (r.error_code < 300 || r.error_code > 699) {
		abort();
	}
	if (!k && r.integrity)
		abort();
	check_text(r.reason, sizeof(r.reason));
	check_text(r.realm, sizeof(r.realm));
	check_text(r.nonce, sizeof(r.nonce));
	turn_error_text(&r, text, sizeof(text));
	if (strnlen(text, sizeof(text)) >= sizeof(text))
		abort();
}

static void indication(const uint8_t *buf, size_t len)
{
	union sockaddr_any peer;
	const uint8_t *d;
	size_t dlen;
	int err = turn_parse_data_indication(buf, len, &peer, &d, &dlen);

	if (err == 0) {
		check_addr(&peer);
		if (d < buf || dlen > len || d + dlen > buf + len)
			abort();
	} else if (err != -EPROTO && err != -EBADMSG) {
		abort();
	}
}

/* 0 when buf is one good ChannelData message */
static int channeldata(const uint8_t *buf, size_t len)
{
	const uint8_t *d;
	size_t dlen;
	uint16_t ch;
	int err = turn_channeldata_parse(buf, len, &ch, &d, &dlen);

	if (err == 0) {
		if (!turn_is_channeldata(buf, len) || ch < TURN_CHANNEL_MIN || ch > TURN_CHANNEL_MAX ||
		    d != buf + TURN_CHANNEL_HEADER || dlen > len - TURN_CHANNEL_HEADER ||
		    len - TURN_CHANNEL_HEADER - dlen > 3)
			abort();
	} else if (err != -EBADMSG) {
		abort();
	}
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_txid own = fixed;
	size_t off = 0;
	int err;

	if (size >= STUN_HEADER_LEN)
		memcpy(own.b, data + 8, STUN_TXID_LEN);
	response(data, size, &own, NULL);
	response(data, size, &own, key);
	response(data, size, &fixed, NULL);
	response(data, size, &fixed, key);
	indication(data, size);
	channeldata(data, size);
	err = turn_message_verify(data, size, key, sizeof(key));
	if (err != 0 && err != -EACCES && err != -ENOENT && err != -EBADMSG)
		abort();

	/* the input as a TCP stream */
	while (off < size) {
		ssize_t f = turn_stream_frame_len(data + off, size - off);
		const uint8_t *frame = data + off;

		if (f < 0 || f == 0 || (size_t)f > size - off)
			break;   /* garbage, or the rest is an incomplete frame */
		if (f < TURN_CHANNEL_HEADER || f > TURN_MESSAGE_MAX + 4)
			abort();
		if (turn_is_channeldata(frame, (size_t)f)) {
			/* a frame the stream cut out is a good ChannelData */
			if (channeldata(frame, (size_t)f) != 0)
				abort();
		} else {
			if (!stun_is_message(frame, (size_t)f))
				abort();
			response(frame, (size_t)f, &own, key);
			indication(frame, (size_t)f);
		}
		off += (size_t)f;
	}
	return 0;
}
