#include "nexd/recover.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "nexd/exit_node.h"
#include "nexd/journal.h"
#include "nexd/netlink.h"
#include "nexd/nft.h"
#include "nexd/nftrules.h"
#include "nexd/policy.h"
#include "nexd/state.h"
#include "nexd/subscription.h"
#include "nexd/wgdrv.h"

#define LINK_MARKER "kernel-link"

void recover_mark_link(const char *state_dir, const char *ifname, bool on)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", state_dir, LINK_MARKER);
	if (on)
		state_write_file(state_dir, LINK_MARKER, ifname, strlen(ifname));
	else
		unlink(path);
}

/* A kernel WireGuard interface a crashed run left: by the marker's name. */
static void remove_stale_link(const char *state_dir)
{
	char path[300], name[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", state_dir, LINK_MARKER);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(name, sizeof(name), f) && nftrules_ifname_valid(name) &&
	    wg_driver_kernel.remove_stale(name) == 0)
		log_info("removed the kernel WireGuard interface %s left by an earlier run", name);
	fclose(f);
	unlink(path);
}

int recover_leftovers(const char *ifname, const char *state_dir, char *err, size_t errlen)
{
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	struct journal *j;
	struct nl *nl;
	int r;

	if (!nftrules_ifname_valid(ifname)) {
		snprintf(err, errlen, "interface name %s cannot be used", ifname);
		return -EINVAL;
	}
	remove_stale_link(state_dir);
	exit_node_remove_leftovers(ifname);
	if (nftrules_client_table(ifname, table) == 0 && nft_table_exists(NFTRULES_FAMILY, table) == 1) {
		nft_table_delete(NFTRULES_FAMILY, table);
		log_info("exit client: removed the table %s left by an earlier run", table);
	}
	if (subscription_marker_exists(state_dir)) {
		unsigned removed = 0;

		r = nl_open(&nl);
		if (r) {
			snprintf(err, errlen, "netlink: %s", strerror(-r));
			return r;
		}
		policy_remove(nl, &removed);
		nl_close(nl);
		subscription_marker_set(state_dir, false);
		log_info("exit client: removed %u rules and routes left by an earlier run", removed);
	}
	r = journal_open(&j, state_dir, NULL);
	if (r) {
		snprintf(err, errlen, "cannot read the sysctl journal in %s: %s", state_dir, strerror(-r));
		return r;
	}
	r = journal_restore(j);
	if (r > 0)
		log_info("restored %d sysctls changed by an earlier run", r);
	journal_close(j);
	return 0;
}
