/* The receive side's sliding anti-replay window (RFC 6479 style), as in the
 * Linux module: a ring of bitmap words over the last REPLAY_WINDOW counters.
 * Not locked: one receiver updates a keypair's window at a time. */
#ifndef WG_REPLAY_H
#define WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_BITS_TOTAL 8192
#define REPLAY_WORD_BITS 64
#define REPLAY_WINDOW (REPLAY_BITS_TOTAL - REPLAY_WORD_BITS) /* 8128 */

struct replay_counter {
	uint64_t counter;  /* highest counter seen + 1 */
	uint64_t backtrack[REPLAY_BITS_TOTAL / REPLAY_WORD_BITS];
};

void replay_init(struct replay_counter *r);
/* True when `counter` was not seen before, lies within the window, and is
 * below REJECT_AFTER_MESSAGES; it is then recorded. Call only after the
 * packet authenticated. */
bool replay_check(struct replay_counter *r, uint64_t counter);

#endif
