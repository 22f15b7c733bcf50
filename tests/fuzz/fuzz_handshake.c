/* libFuzzer target for the handshake parsers: one input is one datagram as
 * it arrives on the UDP socket. It is classified, its macs checked (with and
 * without the cookie), then handed by type to the responder (initiation),
 * the initiator (response), the cookie maker (cookie reply) or the data path.
 *
 * Every key is fixed (the Python transcript of tests/unit/noise_kat.h), and
 * the state each input meets is restored from a template, so that the seeds
 * in tests/fuzz/corpus/handshake/ reach the success paths and every run is
 * reproducible. To rewrite the seeds:
 *   FUZZ_HANDSHAKE_WRITE_SEEDS=tests/fuzz/corpus/handshake build/fuzz/fuzz/fuzz_handshake -runs=0
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/timeutil.h"
#include "wg/cookie.h"
#include "wg/crypto.h"
#include "wg/messages.h"
#include "wg/noise.h"

#include "unit/noise_kat.h"

/* A monotonic time for the flood check: far from zero, constant. */
#define FUZZ_NOW_NS (1000 * NSEC_PER_SEC)

static struct noise_static_identity responder, initiator;
static struct noise_handshake responder_peer; /* the responder's handshake with the initiator */
static struct noise_handshake initiator_peer; /* the initiator's, after sending kat_initiation */
static struct cookie_checker checker;         /* the responder's */
static struct cookie_maker maker;             /* the initiator's, mac1 of kat_initiation sent */
static union sockaddr_any src4, src6;

static void write_seed(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* Valid messages for the fixed state: the transcript's three, a cookie
 * reply to its initiation, and its initiation with that cookie's mac2. */
static void write_seeds(const char *dir)
{
	struct message_handshake_cookie reply;
	struct message_handshake_initiation m1;
	struct cookie_maker m = maker;

	write_seed(dir, "initiation", kat_initiation, sizeof(kat_initiation));
	write_seed(dir, "response", kat_response, sizeof(kat_response));
	write_seed(dir, "data", kat_data_packet, sizeof(kat_data_packet));
	cookie_message_create(&reply, &checker, kat_initiation, sizeof(kat_initiation), KAT_INITIATOR_INDEX, &src4);
	write_seed(dir, "cookie", &reply, sizeof(reply));
	if (cookie_message_consume(&reply, &m) != 0) {
		fprintf(stderr, "cookie seed does not verify\n");
		exit(1);
	}
	memcpy(&m1, kat_initiation, sizeof(m1));
	cookie_add_mac_to_packet(&m1, sizeof(m1), &m);
	if (cookie_validate_packet(&checker, &m1, sizeof(m1), &src4, true) != VALID_MAC_WITH_COOKIE) {
		fprintf(stderr, "mac2 seed does not verify\n");
		exit(1);
	}
	write_seed(dir, "initiation-mac2", &m1, sizeof(m1));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("FUZZ_HANDSHAKE_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (wg_crypto_init() != 0)
		abort();
	noise_init();

	memcpy(responder.static_private, kat_responder_private, 32);
	memcpy(responder.static_public, kat_responder_public, 32);
	responder.has_identity = true;
	memcpy(initiator.static_private, kat_initiator_private, 32);
	memcpy(initiator.static_public, kat_initiator_public, 32);
	initiator.has_identity = true;

	noise_handshake_init(&responder_peer, &responder, kat_initiator_public, kat_psk);
	responder_peer.local_index = KAT_RESPONDER_INDEX;

	noise_handshake_init(&initiator_peer, &initiator, kat_responder_public, kat_psk);
	initiator_peer.local_index = KAT_INITIATOR_INDEX;
	memcpy(initiator_peer.ephemeral_private, kat_initiator_ephemeral_private, 32);
	memcpy(initiator_peer.chaining_key, kat_chaining_key_after_initiation, 32);
	memcpy(initiator_peer.hash, kat_hash_after_initiation, 32);
	initiator_peer.state = HANDSHAKE_CREATED_INITIATION;

	/* A fixed cookie secret that never expires, so mac2 is reachable. */
	cookie_checker_init(&checker);
	cookie_checker_set_key(&checker, kat_responder_public);
	wg_hash(checker.secret, "nexodus-c fuzz cookie secret", 28);
	checker.secret_birthdate_ns = UINT64_MAX / 2;

	cookie_maker_init(&maker, kat_responder_public);
	memcpy(maker.last_mac1_sent, ((const struct message_handshake_initiation *)kat_initiation)->macs.mac1,
	       COOKIE_LEN);
	maker.have_sent_mac1 = true;

	memset(&src4, 0, sizeof(src4));
	src4.in4.sin_family = AF_INET;
	src4.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.1", &src4.in4.sin_addr);
	memset(&src6, 0, sizeof(src6));
	src6.in6.sin6_family = AF_INET6;
	src6.in6.sin6_port = htons(51820);
	inet_pton(AF_INET6, "2001:db8::1", &src6.in6.sin6_addr);

	if (seeds)
		write_seeds(seeds);
	return 0;
}

static void fuzz_initiation(const uint8_t *data)
{
	struct message_handshake_initiation m;
	struct message_handshake_response r;
	struct noise_initiation_scratch s;
	struct noise_handshake hs = responder_peer;
	struct noise_session sess;

	memcpy(&m, data, sizeof(m));
	if (noise_consume_initiation_begin(&m, &responder, &s) != 0)
		return;
	/* a peer other than the one we hold is the caller's lookup failing */
	if (memcmp(s.remote_static, hs.remote_static, NOISE_PUBLIC_KEY_LEN) != 0) {
		wg_wipe(&s, sizeof(s));
		return;
	}
	if (noise_consume_initiation_finish(&s, &hs, FUZZ_NOW_NS) != 0)
		return;
	if (noise_create_response(&r, &hs) != 0)
		abort();
	if (noise_derive_session(&hs, &sess) != 0)
		abort();
}

static void fuzz_response(const uint8_t *data)
{
	struct message_handshake_response m;
	struct noise_handshake hs = initiator_peer;
	struct noise_session sess;

	memcpy(&m, data, sizeof(m));
	if (noise_consume_response(&m, &hs, &initiator) != 0)
		return;
	if (noise_derive_session(&hs, &sess) != 0)
		abort();
}

static void fuzz_cookie(const uint8_t *data)
{
	struct message_handshake_cookie m;
	struct message_handshake_initiation next;
	struct cookie_maker mk = maker;

	memcpy(&m, data, sizeof(m));
	if (cookie_message_consume(&m, &mk) != 0)
		return;
	/* the cookie is used for the next message's mac2 */
	memcpy(&next, kat_initiation, sizeof(next));
	cookie_add_mac_to_packet(&next, sizeof(next), &mk);
}

static void fuzz_data(const uint8_t *data, size_t size)
{
	static uint8_t plain[MESSAGE_MAX_LENGTH];

	(void)wg_data_open(kat_initiator_sending_key, le64_load(data + 8), plain, data + 16, size - 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum message_type type = message_classify(data, size);

	(void)cookie_validate_packet(&checker, data, size, &src4, false);
	(void)cookie_validate_packet(&checker, data, size, &src4, true);
	(void)cookie_validate_packet(&checker, data, size, &src6, true);

	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		fuzz_initiation(data);
		break;
	case MESSAGE_HANDSHAKE_RESPONSE:
		fuzz_response(data);
		break;
	case MESSAGE_HANDSHAKE_COOKIE:
		fuzz_cookie(data);
		break;
	case MESSAGE_DATA:
		fuzz_data(data, size);
		break;
	default:
		break;
	}
	return 0;
}
