/* Connectivity checks between two WireGuard ports, as ICE does them (RFC
 * 8445 7.2): a STUN Binding request from our WireGuard socket to a peer's
 * direct candidate, answered by the peer's nexd from its WireGuard socket
 * with a Binding success carrying XOR-MAPPED-ADDRESS. An answer proves the
 * direct path works both ways (and sending the requests from both sides at
 * once opens the NATs' holes). No credentials: WireGuard authenticates
 * what then flows; a forged answer can only make us try a path that fails,
 * which the prober notices. Pure building and parsing; fuzzed. */
#ifndef NEXD_STUNCHECK_H
#define NEXD_STUNCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "nexd/stun.h"

enum { STUNCHECK_RESPONSE_MAX = STUN_HEADER_LEN + 24 + 8 }; /* XOR-MAPPED-ADDRESS (IPv6) + FINGERPRINT */

enum {
	STUNCHECK_ID_LEN = 32,                    /* hex of the first 16 bytes of a public key */
	STUNCHECK_REQUEST_MAX = STUN_HEADER_LEN + 4 + STUNCHECK_ID_LEN + 8,
};

/* A check to the peer whose public key is `to`: a Binding request with a
 * fresh transaction id (in *txid), USERNAME naming the peer (as ICE's
 * USERNAME names the agent it is meant for, so that nobody else answers:
 * not a host that happens to have the same private address, nor ourselves)
 * and FINGERPRINT. Its length or -ENOSPC. */
int stuncheck_request_build(uint8_t *buf, size_t cap, const uint8_t to[32], struct stun_txid *txid);
/* A Binding request as a peer sends it (header, only known or optional
 * attributes, FINGERPRINT verified when present): 0 with its transaction
 * id, and whether its USERNAME names `me` (*for_me); -EPROTO (STUN but not
 * a Binding request), -EBADMSG. */
int stuncheck_request_parse(const uint8_t *buf, size_t len, const uint8_t me[32], struct stun_txid *txid,
			    bool *for_me);
/* The Binding success for txid telling the requester its address `from`
 * (v4-mapped addresses written as IPv4), with FINGERPRINT. Its length or
 * -ENOSPC / -EAFNOSUPPORT. */
int stuncheck_response_build(uint8_t *buf, size_t cap, const struct stun_txid *txid,
			     const union sockaddr_any *from);

#endif
