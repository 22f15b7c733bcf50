/* Keypairs and their rotation through a peer's slots (the Linux module's
 * noise.c add_new_keypair and wg_noise_received_with_keypair). */
#include "wg/keypair.h"

#include <stdlib.h>
#include <string.h>

#include "wg/crypto.h"
#include "wg/noise.h"
#include "wg/timers.h"

struct keypair *keypair_create(const struct noise_session *s, struct wg_peer *peer, uint64_t now)
{
	struct keypair *kp = calloc(1, sizeof(*kp));

	if (!kp)
		return NULL;
	atomic_init(&kp->refcount, 1);
	atomic_init(&kp->sending_valid, true);
	atomic_init(&kp->receiving_valid, true);
	atomic_init(&kp->sending_counter, 0);
	kp->initiator = s->initiator;
	kp->birthdate_ns = now;
	kp->remote_index = s->remote_index;
	kp->entry.peer = peer;
	kp->entry.keypair = kp;
	kp->entry.type = INDEX_KEYPAIR;
	kp->entry.index = s->local_index;
	replay_init(&kp->replay);
	memcpy(kp->sending_key, s->sending_key, sizeof(kp->sending_key));
	memcpy(kp->receiving_key, s->receiving_key, sizeof(kp->receiving_key));
	return kp;
}

struct keypair *keypair_get(struct keypair *kp)
{
	if (kp)
		atomic_fetch_add_explicit(&kp->refcount, 1, memory_order_relaxed);
	return kp;
}

void keypair_put(struct keypair *kp)
{
	if (!kp)
		return;
	if (atomic_fetch_sub_explicit(&kp->refcount, 1, memory_order_acq_rel) != 1)
		return;
	wg_wipe(kp, sizeof(*kp));
	free(kp);
}

bool keypair_sending_usable(const struct keypair *kp, uint64_t now)
{
	return kp && atomic_load_explicit(&kp->sending_valid, memory_order_relaxed) &&
	       !timers_expired(kp->birthdate_ns, REJECT_AFTER_TIME_S, now) &&
	       atomic_load_explicit(&kp->sending_counter, memory_order_relaxed) < REJECT_AFTER_MESSAGES;
}

bool keypair_receiving_usable(const struct keypair *kp, uint64_t now)
{
	return kp && atomic_load_explicit(&kp->receiving_valid, memory_order_relaxed) &&
	       !timers_expired(kp->birthdate_ns, REJECT_AFTER_TIME_S, now) &&
	       kp->replay.counter < REJECT_AFTER_MESSAGES;
}

/* A keypair leaving the slots: no new packet may find it. */
static void retire(struct index_table *t, struct keypair *kp)
{
	if (!kp)
		return;
	index_remove(t, &kp->entry);
	atomic_store(&kp->sending_valid, false);
	atomic_store(&kp->receiving_valid, false);
	keypair_put(kp);
}

void keypairs_add(struct keypairs *k, struct index_table *t, struct keypair *kp)
{
	if (kp->initiator) {
		/* We sent the initiation and got the response: usable now. */
		if (k->next) {
			/* A pending next (from a crossing handshake) becomes the
			 * previous one and the current goes, as the kernel does. */
			retire(t, k->previous);
			k->previous = k->next;
			k->next = NULL;
			retire(t, k->current);
		} else {
			retire(t, k->previous);
			k->previous = k->current;
		}
		k->current = kp;
	} else {
		/* Responder: wait for the initiator's first data packet. */
		retire(t, k->next);
		k->next = kp;
		retire(t, k->previous);
		k->previous = NULL;
	}
}

bool keypairs_received_with(struct keypairs *k, struct index_table *t, struct keypair *kp)
{
	if (!kp || k->next != kp)
		return false;
	retire(t, k->previous);
	k->previous = k->current;
	k->current = k->next;
	k->next = NULL;
	return true;
}

struct keypair *keypairs_current(struct keypairs *k)
{
	return keypair_get(k->current);
}

void keypairs_expire_current(struct keypairs *k)
{
	if (k->current)
		atomic_store(&k->current->sending_valid, false);
	if (k->next)
		atomic_store(&k->next->sending_valid, false);
}

void keypairs_clear(struct keypairs *k, struct index_table *t)
{
	retire(t, k->current);
	retire(t, k->previous);
	retire(t, k->next);
	k->current = k->previous = k->next = NULL;
}
