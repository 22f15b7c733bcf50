/* libFuzzer target: the exit-node preference list that `nexctl nexd
 * exit-node enable --exit-node A,B` sends over the control socket (and
 * --exit-node on the command line): bounded, and formatted back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/exit_choice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct exit_prefs p;
	static char text[EXIT_PREFS_MAX * (EXIT_PREF_LEN + 1) + 1];
	static char back[sizeof(text)];

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (exit_prefs_parse(text, &p))
		return 0;
	if (p.n == 0 || p.n > EXIT_PREFS_MAX)
		abort();
	exit_prefs_format(&p, back, sizeof(back));
	if (strcmp(back, text))
		abort();
	return 0;
}
