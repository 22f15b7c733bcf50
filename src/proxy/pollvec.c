#include "proxy/pollvec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void pollvec_init(struct pollvec *pv)
{
	memset(pv, 0, sizeof(*pv));
}

void pollvec_reset(struct pollvec *pv)
{
	pv->n = 0;
}

int pollvec_add(struct pollvec *pv, int fd, short events)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 64;
		struct pollfd *f = realloc(pv->fds, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		pv->fds = f;
		pv->cap = cap;
	}
	pv->fds[pv->n] = (struct pollfd){ .fd = fd, .events = events };
	return (int)pv->n++;
}

short pollvec_revents(const struct pollvec *pv, int idx)
{
	if (idx < 0 || (size_t)idx >= pv->n)
		return 0;
	return pv->fds[idx].revents;
}

void pollvec_release(struct pollvec *pv)
{
	free(pv->fds);
	memset(pv, 0, sizeof(*pv));
}
