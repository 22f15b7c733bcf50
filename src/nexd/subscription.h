/* The exit-node client subscription, as this device wants it, kept in the
 * state directory (exit-client.json, 0600) so that it survives restarts,
 * and the marker (exit-client.active) that says its policy rules are
 * installed, so that a start after a crash knows to remove them.
 *
 * The rule between nexctl on this device and the API server (the web UI,
 * `nexctl device update`) is "the last to act wins": a change made here is
 * pushed to the server; a change on the server is taken once ours has
 * arrived there. */
#ifndef NEXD_SUBSCRIPTION_H
#define NEXD_SUBSCRIPTION_H

#include <stdbool.h>
#include <stdint.h>

#include "apiclient/device.h"
#include "nexd/exit_choice.h"
#include "nexd/options.h"

struct subscription {
	bool wanted;            /* send all traffic through an exit node */
	bool pushed;            /* the API server has `wanted` */
	struct exit_prefs prefs;
	uint64_t pushed_revision; /* the record's revision with our push (memory only) */
};

/* Loads the saved subscription (none: off), then lets --exit-node-client
 * (and its --exit-node, --failover) override it. Never fails: a malformed
 * file is reported and ignored. */
void subscription_load(const char *state_dir, const struct nexd_options *o, struct subscription *out);
/* 0 or -errno. */
int subscription_save(const char *state_dir, const struct subscription *s);

/* Pure. The API server's record of this device arrived: true when it turns
 * the subscription (the server's word counts once ours reached it, and
 * only from a record at least as new as our push). */
bool subscription_on_self(struct subscription *s, const struct api_device *self);
/* Pure. Our push of `wanted` (as of record revision rev) arrived: true
 * when that makes the subscription pushed. */
bool subscription_on_pushed(struct subscription *s, bool wanted, uint64_t rev);

bool subscription_marker_exists(const char *state_dir);
void subscription_marker_set(const char *state_dir, bool on);

#endif
