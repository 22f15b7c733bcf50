/* The data receive path without sockets or a TUN: a datagram is classified,
 * opened with a fixed keypair, checked against the replay window, its inner
 * packet validated and its source checked against allowed IPs. With the
 * first input byte odd, the rest is taken as [le64 counter][plaintext] and
 * sealed first, so that the inner-packet checks see fuzzed plaintext. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "wg/allowedips.h"
#include "wg/crypto.h"
#include "wg/device.h"
#include "wg/keypair.h"
#include "wg/messages.h"
#include "wg/noise.h"
#include "wg/receive.h"

#define LOCAL_INDEX 0x11223344u

static struct keypair *kp;
static struct allowedips *aips;
static char the_peer, other_peer;
static uint8_t buf[MESSAGE_MAX_LENGTH + 64];

static void setup(void)
{
	struct noise_session s;
	struct cidr c;

	if (wg_crypto_init())
		abort();
	memset(&s, 0, sizeof(s));
	memset(s.sending_key, 0x5a, sizeof(s.sending_key));
	memset(s.receiving_key, 0x5a, sizeof(s.receiving_key)); /* we seal what we open */
	s.local_index = LOCAL_INDEX;
	s.remote_index = LOCAL_INDEX;
	kp = keypair_create(&s, NULL, 0);
	if (!kp || allowedips_create(&aips))
		abort();
	if (cidr_parse("100.100.0.0/24", &c) || allowedips_insert(aips, &c, &the_peer))
		abort();
	if (cidr_parse("2001:db8::/32", &c) || allowedips_insert(aips, &c, &the_peer))
		abort();
	if (cidr_parse("100.100.0.128/25", &c) || allowedips_insert(aips, &c, &other_peer))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *src;
	size_t len, plain_len, inner_len;
	uint64_t counter;
	int family;
	void *peer;

	if (!kp)
		setup();
	if (size < 1)
		return 0;
	replay_init(&kp->replay);
	if (data[0] & 1) {
		size_t plen;

		if (size < 9)
			return 0;
		plen = size - 9;
		if (plen > MESSAGE_MAX_LENGTH - MESSAGE_MINIMUM_LENGTH - MESSAGE_PADDING_MULTIPLE)
			return 0;
		memcpy(buf + DATA_PACKET_HEAD_ROOM, data + 9, plen);
		len = send_encapsulate(kp, le64_load(data + 1), buf, plen, (data[0] & 2) ? 1420 : 0);
		if (len > MESSAGE_MAX_LENGTH || len < MESSAGE_MINIMUM_LENGTH)
			abort();
		le32_store(buf + 4, LOCAL_INDEX);
	} else {
		len = size - 1;
		if (len > sizeof(buf))
			return 0;
		memcpy(buf, data + 1, len);
	}

	if (message_classify(buf, len) != MESSAGE_DATA)
		return 0;
	if (le32_load(buf + 4) != LOCAL_INDEX)
		return 0;
	if (receive_open(kp, buf, len, &counter, &plain_len))
		return 0;
	if (plain_len + MESSAGE_MINIMUM_LENGTH != len)
		abort();
	if (!replay_check(&kp->replay, counter))
		return 0;
	if (replay_check(&kp->replay, counter))
		abort(); /* the same counter twice */
	if (!plain_len)
		return 0; /* keepalive */
	if (receive_inner_packet(buf + DATA_PACKET_HEAD_ROOM, plain_len, &inner_len, &family, &src))
		return 0;
	if (inner_len > plain_len || src < buf + DATA_PACKET_HEAD_ROOM ||
	    src + (family == AF_INET ? 4 : 16) > buf + DATA_PACKET_HEAD_ROOM + inner_len)
		abort();
	peer = allowedips_lookup(aips, family, src);
	if (peer && peer != &the_peer && peer != &other_peer)
		abort();
	return 0;
}
