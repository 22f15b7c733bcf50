#include "nexd/exit_node.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "nexd/journal.h"
#include "nexd/netlink.h"
#include "nexd/nft.h"
#include "nexd/nftrules.h"

struct exit_node {
	char mesh_if[IF_NAMESIZE];
	char uplink[IF_NAMESIZE];
	char table[NFTRULES_TABLE_NAME_MAX + 1];
};

static int forwarding_on(struct journal *j, const char *ifname)
{
	char key[96];

	snprintf(key, sizeof(key), "net/ipv4/conf/%s/forwarding", ifname);
	return journal_sysctl_set(j, key, "1");
}

void exit_node_remove_leftovers(const char *mesh_if)
{
	char table[NFTRULES_TABLE_NAME_MAX + 1];

	if (nftrules_exit_table(mesh_if, table) == 0 && nft_table_exists(NFTRULES_FAMILY, table) == 1) {
		nft_table_delete(NFTRULES_FAMILY, table);
		log_info("exit node: removed the table %s left by an earlier run", table);
	}
}

int exit_node_start(struct exit_node **out, struct nl *nl, struct journal *j, const char *mesh_if,
		    const char *egress, bool ipv6, char *warn, size_t warnlen, char *err, size_t errlen)
{
	struct nftrules_exit p = { 0 };
	struct exit_node *e;
	struct nft_chain_ref drops[8];
	char nerr[256];
	char *script = NULL;
	size_t ndrops = 0;
	int r;

	warn[0] = 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	snprintf(e->mesh_if, sizeof(e->mesh_if), "%s", mesh_if);
	if (egress) {
		snprintf(e->uplink, sizeof(e->uplink), "%s", egress);
		if (!if_nametoindex(egress)) {
			snprintf(err, errlen, "--egress-interface %s: no such interface", egress);
			r = -ENODEV;
			goto err_free;
		}
	} else {
		struct nl_route def;

		r = nl_route_get_default(nl, AF_INET, &def);
		if (r || !if_indextoname(def.oif, e->uplink)) {
			snprintf(err, errlen, "no IPv4 default route to find the uplink by; give --egress-interface");
			r = r ? r : -ENODEV;
			goto err_free;
		}
	}
	nftrules_exit_table(mesh_if, e->table);
	p.ifname = mesh_if;
	p.uplink = e->uplink;
	p.ipv6 = ipv6;
	r = nftrules_exit_script(&p, &script);
	if (r) {
		snprintf(err, errlen, "cannot build the exit node's table for %s -> %s", mesh_if, e->uplink);
		goto err_free;
	}
	r = forwarding_on(j, mesh_if);
	if (!r)
		r = forwarding_on(j, e->uplink);
	if (!r && ipv6)
		r = journal_sysctl_set(j, "net/ipv6/conf/all/forwarding", "1");
	if (r) {
		snprintf(err, errlen, "cannot enable forwarding on %s and %s: %s", mesh_if, e->uplink, strerror(-r));
		goto err_restore;
	}
	r = nft_apply(script, nerr, sizeof(nerr));
	if (r) {
		snprintf(err, errlen, "cannot install the nftables table %s: %s", e->table, nerr);
		goto err_restore;
	}
	free(script);
	log_info("exit node: forwarding and masquerading %s -> %s, IPv4%s (table inet %s)", mesh_if, e->uplink,
		 ipv6 ? " and IPv6" : "", e->table);
	if (nft_forward_drop_chains(NFTRULES_FAMILY, e->table, drops, 8, &ndrops) == 0 && ndrops) {
		size_t o = 0;
		for (size_t i = 0; i < ndrops && i < 8; i++) {
			char name[600];
			int n;
			nft_chain_ref_format(&drops[i], name, sizeof(name));
			n = snprintf(warn + o, warnlen - o, "%s%s has policy drop", i ? "; " : "", name);
			if (n < 0 || (size_t)n >= warnlen - o)
				break;
			o += (size_t)n;
		}
		if (o < warnlen)
			snprintf(warn + o, warnlen - o, ": it will drop what this exit node forwards unless it accepts "
				 "traffic between %s and %s", mesh_if, e->uplink);
		log_warn("exit node: %s", warn);
	}
	*out = e;
	return 0;

err_restore:
	journal_restore(j);
err_free:
	free(script);
	free(e);
	return r;
}

void exit_node_stop(struct exit_node *e, struct journal *j)
{
	int r;

	if (!e)
		return;
	r = nft_table_delete(NFTRULES_FAMILY, e->table);
	if (r)
		log_warn("exit node: cannot remove table %s: %s", e->table, strerror(-r));
	journal_restore(j);
	log_info("exit node: stopped forwarding %s -> %s", e->mesh_if, e->uplink);
	free(e);
}
