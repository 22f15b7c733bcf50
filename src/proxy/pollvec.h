/* A growable array of pollfd that one poll loop fills each round: every
 * part of the proxy adds the descriptors it waits for and later reads the
 * revents at the index it was given. */
#ifndef PROXY_POLLVEC_H
#define PROXY_POLLVEC_H

#include <poll.h>
#include <stddef.h>

struct pollvec {
	struct pollfd *fds;
	size_t n, cap;
};

void pollvec_init(struct pollvec *pv);
void pollvec_reset(struct pollvec *pv);          /* n = 0, keeps the memory */
/* The index of the new entry, or -ENOMEM. */
int pollvec_add(struct pollvec *pv, int fd, short events);
/* revents of entry idx; 0 for an index out of range (a negative one too). */
short pollvec_revents(const struct pollvec *pv, int idx);
void pollvec_release(struct pollvec *pv);

#endif
