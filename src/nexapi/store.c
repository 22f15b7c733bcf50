/* Which store backend a --db names, and how it may be logged. */
#include "nexapi/store.h"

#include <stdio.h>
#include <string.h>

bool store_is_uri(const char *db)
{
	return db && (!strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11));
}

const struct store_ops *store_for(const char *db)
{
	return store_is_uri(db) ? &store_pg_ops : &store_sqlite_ops;
}

/* Appends len bytes of src to out (size), keeping *n and the NUL. */
static void put(char *out, size_t size, size_t *n, const char *src, size_t len)
{
	if (*n + 1 >= size)
		return;
	if (len > size - 1 - *n)
		len = size - 1 - *n;
	memcpy(out + *n, src, len);
	*n += len;
	out[*n] = 0;
}

void store_db_shown(const char *db, char *out, size_t size)
{
	const char *p, *auth_end, *at, *colon, *q;
	size_t n = 0;

	if (!size)
		return;
	out[0] = 0;
	if (!store_is_uri(db)) {
		put(out, size, &n, db ? db : "", db ? strlen(db) : 0);
		return;
	}
	p = strstr(db, "://") + 3;
	auth_end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(auth_end - p));
	colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
	if (colon) {
		put(out, size, &n, db, (size_t)(colon + 1 - db));
		put(out, size, &n, "****", 4);
		put(out, size, &n, at, (size_t)(auth_end - at));
	} else {
		put(out, size, &n, db, (size_t)(auth_end - db));
	}
	/* the path, then each parameter ('?k=v', '&k=v') */
	q = auth_end;
	while (*q) {
		size_t seg = 1 + strcspn(q + 1, "?&#");

		if (*q != '/' && !strncmp(q + 1, "password=", 9)) {
			put(out, size, &n, q, 10);
			put(out, size, &n, "****", 4);
		} else {
			put(out, size, &n, q, seg);
		}
		q += seg;
	}
}
