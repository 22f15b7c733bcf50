/* Before anything starts: find and remove what a run that crashed left
 * behind. The nft tables of this interface (by their fixed names), the
 * policy rules and tables (by their fixed numbers, when the state
 * directory's marker says a subscription was installed), the sysctls
 * (put back from the journal) and a kernel WireGuard interface (which
 * outlives the process; named by the marker `kernel-link`). Runs before any
 * thread exists. */
#ifndef NEXD_RECOVER_H
#define NEXD_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

/* 0, or -errno with a message for the user in err. */
int recover_leftovers(const char *ifname, const char *state_dir, char *err, size_t errlen);

/* The marker of a kernel WireGuard interface: written once it is created,
 * removed with it. */
void recover_mark_link(const char *state_dir, const char *ifname, bool on);

#endif
