/* The receive side's pure steps, apart from sockets and threads so that
 * they can be fuzzed: opening a data message with a keypair, and checking
 * the decrypted inner packet. */
#ifndef WG_RECEIVE_H
#define WG_RECEIVE_H

#include <stddef.h>
#include <stdint.h>

#include "wg/keypair.h"

/* Opens the data message msg (len bytes, already classified MESSAGE_DATA)
 * in place with kp's receiving key: 0 with the plaintext at
 * msg + DATA_PACKET_HEAD_ROOM, *plain_len bytes long, and the message's
 * counter; -EBADMSG when it does not authenticate. No replay check. */
int receive_open(const struct keypair *kp, uint8_t *msg, size_t len, uint64_t *counter, size_t *plain_len);

/* Checks a decrypted inner packet: an IPv4 or IPv6 header whose lengths
 * fit in len. Returns 0 with the packet's real length (padding trimmed),
 * its family and a pointer to its source address; -EINVAL otherwise.
 * A keepalive (len 0) is not a packet: -EINVAL. */
int receive_inner_packet(const uint8_t *pkt, size_t len, size_t *inner_len, int *family, const uint8_t **src);

#endif
