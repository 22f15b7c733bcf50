/* The timer rules of the WireGuard paper (section 6), written the way the
 * Linux module's timers.c arms and disarms its kernel timers, but as plain
 * deadlines evaluated by timers_tick. */
#include "wg/timers.h"

#include <string.h>

#include "common/timeutil.h"
#include "wg/messages.h"

#define S(x) ((uint64_t)(x) * NSEC_PER_SEC)

static bool pending(uint64_t deadline)
{
	return deadline != 0;
}

static void arm(uint64_t *deadline, uint64_t at)
{
	*deadline = at ? at : 1; /* 0 means disarmed */
}

void timers_init(struct wg_timers *t)
{
	memset(t, 0, sizeof(*t));
}

void timers_stop(struct wg_timers *t)
{
	t->retransmit_handshake_at = 0;
	t->send_keepalive_at = 0;
	t->new_handshake_at = 0;
	t->zero_key_material_at = 0;
	t->persistent_keepalive_at = 0;
}

bool timers_expired(uint64_t birthdate, uint64_t seconds, uint64_t now)
{
	return birthdate > now || now - birthdate >= S(seconds);
}

/* Should be called after an authenticated data packet is sent. */
void timers_data_sent(struct wg_timers *t, uint64_t now, uint64_t jitter_ns)
{
	if (!pending(t->new_handshake_at))
		arm(&t->new_handshake_at, now + S(KEEPALIVE_TIMEOUT_S + REKEY_TIMEOUT_S) + jitter_ns);
}

/* Should be called after an authenticated data packet (not a keepalive) is received. */
void timers_data_received(struct wg_timers *t, uint64_t now)
{
	if (!pending(t->send_keepalive_at))
		arm(&t->send_keepalive_at, now + S(KEEPALIVE_TIMEOUT_S));
	else
		t->need_another_keepalive = true;
}

/* After any authenticated packet (data, keepalive, handshake) is sent. */
void timers_any_authenticated_packet_sent(struct wg_timers *t)
{
	t->send_keepalive_at = 0;
}

/* After any authenticated packet is received. */
void timers_any_authenticated_packet_received(struct wg_timers *t)
{
	t->new_handshake_at = 0;
}

/* After any authenticated packet is sent or received. */
void timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now)
{
	if (t->persistent_keepalive_interval)
		arm(&t->persistent_keepalive_at, now + S(t->persistent_keepalive_interval));
}

/* After a handshake initiation is sent. */
void timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint64_t jitter_ns)
{
	arm(&t->retransmit_handshake_at, now + S(REKEY_TIMEOUT_S) + jitter_ns);
}

/* After a handshake response is consumed, or the responder's first data
 * with the new keypair arrives. */
void timers_handshake_complete(struct wg_timers *t)
{
	t->retransmit_handshake_at = 0;
	t->handshake_attempts = 0;
	t->sent_lastminute_handshake = false;
}

/* After a new keypair is derived (either side). */
void timers_session_derived(struct wg_timers *t, uint64_t now)
{
	arm(&t->zero_key_material_at, now + S(REJECT_AFTER_TIME_S * 3));
}

bool timers_set_persistent_keepalive(struct wg_timers *t, uint16_t interval_s)
{
	bool turned_on = !t->persistent_keepalive_interval && interval_s;

	t->persistent_keepalive_interval = interval_s;
	if (!interval_s)
		t->persistent_keepalive_at = 0;
	return turned_on;
}

bool timers_may_send_initiation(const struct wg_timers *t, uint64_t now)
{
	return !t->last_sent_handshake_ns || timers_expired(t->last_sent_handshake_ns, REKEY_TIMEOUT_S, now);
}

void timers_initiation_sent(struct wg_timers *t, uint64_t now)
{
	t->last_sent_handshake_ns = now ? now : 1;
}

void timers_initiation_wanted(struct wg_timers *t, bool is_retry)
{
	if (!is_retry)
		t->handshake_attempts = 0;
}

unsigned timers_tick(struct wg_timers *t, uint64_t now)
{
	unsigned actions = 0;

	if (pending(t->retransmit_handshake_at) && t->retransmit_handshake_at <= now) {
		t->retransmit_handshake_at = 0;
		if (t->handshake_attempts > MAX_TIMER_HANDSHAKES) {
			/* Give up: no more keepalives for this session, drop what
			 * waited for it, and forget the keys in a while. */
			actions |= TIMERS_GIVE_UP;
			t->send_keepalive_at = 0;
			if (!pending(t->zero_key_material_at))
				arm(&t->zero_key_material_at, now + S(REJECT_AFTER_TIME_S * 3));
		} else {
			++t->handshake_attempts;
			actions |= TIMERS_SEND_INITIATION;
		}
	}
	if (pending(t->send_keepalive_at) && t->send_keepalive_at <= now) {
		t->send_keepalive_at = 0;
		actions |= TIMERS_SEND_KEEPALIVE;
		if (t->need_another_keepalive) {
			t->need_another_keepalive = false;
			arm(&t->send_keepalive_at, now + S(KEEPALIVE_TIMEOUT_S));
		}
	}
	if (pending(t->new_handshake_at) && t->new_handshake_at <= now) {
		/* Sent data for KEEPALIVE + REKEY_TIMEOUT without hearing back. */
		t->new_handshake_at = 0;
		t->handshake_attempts = 0;
		actions |= TIMERS_SEND_INITIATION;
	}
	if (pending(t->zero_key_material_at) && t->zero_key_material_at <= now) {
		t->zero_key_material_at = 0;
		actions |= TIMERS_ZERO_KEYS;
	}
	if (pending(t->persistent_keepalive_at) && t->persistent_keepalive_at <= now) {
		t->persistent_keepalive_at = 0;
		if (t->persistent_keepalive_interval)
			actions |= TIMERS_SEND_KEEPALIVE;
	}
	return actions;
}

bool timers_want_rekey_on_send(bool initiator, uint64_t birthdate, uint64_t counter, uint64_t now)
{
	return initiator && (counter > REKEY_AFTER_MESSAGES || timers_expired(birthdate, REKEY_AFTER_TIME_S, now));
}

bool timers_want_rekey_on_receive(struct wg_timers *t, bool initiator, uint64_t birthdate, uint64_t now)
{
	if (!initiator || t->sent_lastminute_handshake)
		return false;
	if (!timers_expired(birthdate, REJECT_AFTER_TIME_S - KEEPALIVE_TIMEOUT_S - REKEY_TIMEOUT_S, now))
		return false;
	t->sent_lastminute_handshake = true;
	return true;
}
