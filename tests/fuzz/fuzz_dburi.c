/* libFuzzer target: the --db value as logged (nexapi/store.c). For any
 * input: a NUL-terminated result within the buffer, and, for a URI whose
 * userinfo has a password, that password's text is not what follows the
 * user's colon. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexapi/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *db, out[128], big[4096];
	size_t sizes[] = { 1, 2, 17, sizeof(out) };

	if (size > 2048)
		return 0;
	db = malloc(size + 1);
	if (!db)
		return 0;
	memcpy(db, data, size);
	db[size] = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(out, 'x', sizeof(out));
		store_db_shown(db, out, sizes[i]);
		if (strnlen(out, sizes[i]) >= sizes[i])
			abort();
	}
	store_db_shown(db, big, sizeof(big));
	if (store_is_uri(db)) {
		const char *p = strstr(db, "://") + 3;
		size_t auth = strcspn(p, "/?#");
		const char *at = memchr(p, '@', auth), *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;

		/* the shown userinfo: USER:****@ */
		if (colon && strncmp(big + (colon + 1 - db), "****@", 5))
			abort();
	}
	free(db);
	return 0;
}
