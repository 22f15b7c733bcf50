/* Which exit node a client uses: a pure function of the organization's exit
 * nodes, their health over the tunnel, the one in use and the user's
 * preference. Unit-tested.
 *
 * - Default: the lowest latency among those that answer; the one in use is
 *   kept unless it stops answering or another is clearly faster
 *   (EXIT_HYSTERESIS_PCT and EXIT_HYSTERESIS_MIN_US both), so small changes
 *   of latency do not move traffic back and forth.
 * - A preference list (device ids, public keys, tunnel IPs or names): the first that
 *   answers; an earlier one is returned to once it has answered steadily for
 *   EXIT_RETURN_STEADY_S. With one entry and no failover: that one, even when
 *   it does not answer (fail closed). With failover, when none of the list
 *   answers: the default choice among the others.
 * - Nothing that answers: the one in use stays (traffic fails closed on it
 *   and resumes when it answers again); never "no exit node" while one is
 *   known, never the plain uplink. */
#ifndef NEXD_EXIT_CHOICE_H
#define NEXD_EXIT_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXIT_PREFS_MAX 8
#define EXIT_PREF_LEN 256
#define EXIT_RETURN_STEADY_S 30
#define EXIT_HYSTERESIS_PCT 30      /* the better one must be this much faster */
#define EXIT_HYSTERESIS_MIN_US 5000 /* and by at least this much */

struct exit_candidate {
	uint8_t public_key[32];
	const char *id;         /* the device id, or NULL */
	const char *hostname;
	int family;
	uint8_t tunnel_ip[16];
	bool measured;          /* the prober has a result for it */
	bool reachable;
	uint32_t latency_us;
	uint64_t reachable_since_ns;
};

struct exit_prefs {
	size_t n;
	char items[EXIT_PREFS_MAX][EXIT_PREF_LEN];
	bool failover;
};

/* Parses "A,B,..." into prefs (bounded). 0 or -EINVAL (empty item, too many, too long). */
int exit_prefs_parse(const char *list, struct exit_prefs *out);
/* "A,B" back. */
void exit_prefs_format(const struct exit_prefs *p, char *out, size_t len);
/* The candidate a preference item names: an item that is a device id, a
 * public key or an IP address matches only by that (never a hostname, so a
 * device cannot capture a pin by naming itself like another's address); a
 * name matches only when exactly one candidate has it. Returns the index,
 * -ENOENT (none) or -EEXIST (a name that several have). */
int exit_pref_find(const char *item, const struct exit_candidate *c, size_t n);
/* Checks every item of p against the candidates; 0, or an error naming the
 * item (and, for an ambiguous name, the candidates that have it) in err. */
int exit_prefs_check(const struct exit_prefs *p, const struct exit_candidate *c, size_t n, char *err, size_t errlen);

/* The index in c[] to use, or -1 for none (no candidates, or a pinned one
 * that is not there). current: the index of the one in use, or -1. */
int exit_choose(const struct exit_candidate *c, size_t n, int current, const struct exit_prefs *p, uint64_t now_ns);

#endif
