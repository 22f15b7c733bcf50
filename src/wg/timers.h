/* A peer's timers (paper section 6, the Linux module's timers.c) as a pure
 * state machine over deadlines: events arm or disarm deadlines, and
 * timers_tick(now) reports the actions that fell due. No threads, no
 * clocks, no randomness inside: the caller passes the time (monotonic ns)
 * and the jitter, and holds the peer's lock. A deadline of 0 is disarmed. */
#ifndef WG_TIMERS_H
#define WG_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

struct wg_timers {
	uint64_t retransmit_handshake_at;
	uint64_t send_keepalive_at;
	uint64_t new_handshake_at;
	uint64_t zero_key_material_at;
	uint64_t persistent_keepalive_at;
	uint64_t last_sent_handshake_ns;   /* 0: never */
	unsigned handshake_attempts;
	uint16_t persistent_keepalive_interval; /* seconds, 0 = off */
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
};

enum timers_action {
	TIMERS_SEND_INITIATION = 1 << 0,  /* a handshake (retry or new) */
	TIMERS_SEND_KEEPALIVE = 1 << 1,
	TIMERS_GIVE_UP = 1 << 2,          /* drop the staged packets */
	TIMERS_ZERO_KEYS = 1 << 3,        /* wipe keypairs and handshake */
};

void timers_init(struct wg_timers *t);
/* Disarms every deadline (peer removed or device down). */
void timers_stop(struct wg_timers *t);

/* jitter_ns: a random value below REKEY_TIMEOUT_JITTER_MAX_MS, from the caller. */
void timers_data_sent(struct wg_timers *t, uint64_t now, uint64_t jitter_ns);
void timers_data_received(struct wg_timers *t, uint64_t now);
void timers_any_authenticated_packet_sent(struct wg_timers *t);
void timers_any_authenticated_packet_received(struct wg_timers *t);
void timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now);
void timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint64_t jitter_ns);
void timers_handshake_complete(struct wg_timers *t);
void timers_session_derived(struct wg_timers *t, uint64_t now);
/* Sets the persistent keepalive interval; true when it went from off to on
 * (the caller then sends a keepalive at once, as the kernel does). */
bool timers_set_persistent_keepalive(struct wg_timers *t, uint16_t interval_s);

/* Initiations are sent at most once per REKEY_TIMEOUT. True when one may be
 * sent now; timers_initiation_sent then records it. A non-retry initiation
 * (the data path's or the keepalive's) resets the attempt count. */
bool timers_may_send_initiation(const struct wg_timers *t, uint64_t now);
void timers_initiation_sent(struct wg_timers *t, uint64_t now);
void timers_initiation_wanted(struct wg_timers *t, bool is_retry);

/* The actions due at `now` (a mask of enum timers_action); their deadlines
 * are consumed. A retransmit past MAX_TIMER_HANDSHAKES gives up instead. */
unsigned timers_tick(struct wg_timers *t, uint64_t now);

/* Send path: the initiator should rekey when its current keypair is older
 * than REKEY_AFTER_TIME or has sent more than REKEY_AFTER_MESSAGES. */
bool timers_want_rekey_on_send(bool initiator, uint64_t birthdate, uint64_t counter, uint64_t now);
/* Receive path: the initiator rekeys once when its keypair is older than
 * REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT (sets the sticky
 * flag; handshake_complete clears it). */
bool timers_want_rekey_on_receive(struct wg_timers *t, bool initiator, uint64_t birthdate, uint64_t now);

/* True when `birthdate + seconds` is at or before now (or birthdate is in the future: clock sanity). */
bool timers_expired(uint64_t birthdate, uint64_t seconds, uint64_t now);

#endif
