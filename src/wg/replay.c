/* The anti-replay window (RFC 6479): a ring of REPLAY_BITS_TOTAL bits kept
 * in 64-bit words, of which one word's worth is slack so that sliding the
 * window forward clears whole words. `counter` holds the highest counter
 * accepted plus one; a counter is accepted when it is below
 * REJECT_AFTER_MESSAGES, no more than REPLAY_WINDOW behind, and its bit was
 * clear. */
#include "wg/replay.h"

#include <string.h>

#include "wg/messages.h"

#define REPLAY_WORDS (REPLAY_BITS_TOTAL / REPLAY_WORD_BITS)

_Static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0, "the ring must be a power of two");
_Static_assert(REPLAY_WORD_BITS == 64, "one word is a uint64_t");

void replay_init(struct replay_counter *r)
{
	memset(r, 0, sizeof(*r));
}

bool replay_check(struct replay_counter *r, uint64_t counter)
{
	uint64_t next, word, top_word, bit;

	if (counter >= REJECT_AFTER_MESSAGES || r->counter > REJECT_AFTER_MESSAGES)
		return false;
	/* Work with counter + 1 so that 0 means "nothing seen yet". No overflow:
	 * counter < REJECT_AFTER_MESSAGES leaves REPLAY_WINDOW of headroom. */
	next = counter + 1;
	if (next + REPLAY_WINDOW < r->counter)
		return false; /* too far behind the window */
	word = next / REPLAY_WORD_BITS;
	if (next > r->counter) {
		/* Slide forward: clear the words between the old top and the new
		 * one (all of them, at most, when jumping far ahead). */
		uint64_t gap;

		top_word = r->counter / REPLAY_WORD_BITS;
		gap = word - top_word;
		if (gap > REPLAY_WORDS)
			gap = REPLAY_WORDS;
		for (uint64_t i = 1; i <= gap; i++)
			r->backtrack[(top_word + i) & (REPLAY_WORDS - 1)] = 0;
		r->counter = next;
	}
	bit = (uint64_t)1 << (next & (REPLAY_WORD_BITS - 1));
	word &= REPLAY_WORDS - 1;
	if (r->backtrack[word] & bit)
		return false;
	r->backtrack[word] |= bit;
	return true;
}
