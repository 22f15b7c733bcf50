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

#define EXIT_NODE_ADDRS_MAX NFTRULES_NETS_MAX
#define EXIT_NODE_DROPS_MAX 8

struct exit_node {
	struct nl *nl;
	char mesh_if[IF_NAMESIZE];
	char uplink[IF_NAMESIZE];
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	bool ipv6, allow_lan;
	struct cidr lan[EXIT_NODE_ADDRS_MAX];  /* the addresses outside the mesh, with their prefixes */
	size_t n_lan;
	char warn[512];                         /* what in the firewall drops our traffic ("" none) */
};

/* The host's addresses outside the mesh and lo, link-local ones left out
 * (those networks are dropped as a whole). Sorted as the kernel lists them,
 * so that two readings compare. */
static int read_addrs(struct exit_node *e, struct cidr *out, size_t *n)
{
	struct nl_addr *a = calloc(EXIT_NODE_ADDRS_MAX, sizeof(*a));
	unsigned mesh = if_nametoindex(e->mesh_if), lo = if_nametoindex("lo");
	size_t found = 0;
	int r;

	if (!a)
		return -ENOMEM;
	r = nl_addr_list(e->nl, 0, AF_UNSPEC, a, EXIT_NODE_ADDRS_MAX, &found);
	if (r == -ENOSPC) {
		r = 0;
		found = EXIT_NODE_ADDRS_MAX;
	}
	*n = 0;
	for (size_t i = 0; !r && i < found; i++) {
		const struct cidr *c = &a[i].addr;

		if (a[i].ifindex == mesh || a[i].ifindex == lo)
			continue;
		if (c->family == AF_INET && c->addr[0] == 169 && c->addr[1] == 254)
			continue;
		if (c->family == AF_INET6 && c->addr[0] == 0xfe && (c->addr[1] & 0xc0) == 0x80)
			continue;
		out[(*n)++] = *c;
	}
	free(a);
	return r;
}

static void rules_params(const struct exit_node *e, struct nftrules_exit *p)
{
	memset(p, 0, sizeof(*p));
	p->ifname = e->mesh_if;
	p->uplink = e->uplink;
	p->ipv6 = e->ipv6;
	p->allow_lan = e->allow_lan;
	p->lan = e->lan;
	p->n_lan = e->n_lan;
	p->own = e->lan;
	p->n_own = e->n_lan;
}

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
		    const char *egress, bool ipv6, bool allow_lan, char *err, size_t errlen)
{
	struct nftrules_exit p;
	struct exit_node *e;
	char nerr[256];
	char *script = NULL;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->nl = nl;
	e->ipv6 = ipv6;
	e->allow_lan = allow_lan;
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
	r = read_addrs(e, e->lan, &e->n_lan);
	if (r) {
		snprintf(err, errlen, "cannot read the host's addresses: %s", strerror(-r));
		goto err_free;
	}
	rules_params(e, &p);
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
	log_info("exit node: forwarding and masquerading %s -> %s, IPv4%s (table inet %s); %s", mesh_if, e->uplink,
		 ipv6 ? " and IPv6" : "", e->table, allow_lan ? "its directly connected networks open (--exit-node-allow-lan)"
		 : "not to its directly connected networks");
	*out = e;
	return 0;

err_restore:
	journal_restore(j);
err_free:
	free(script);
	free(e);
	return r;
}

/* The addresses changed: the sets follow. */
static void follow_addrs(struct exit_node *e)
{
	struct cidr now[EXIT_NODE_ADDRS_MAX];
	struct nftrules_exit p;
	char *script = NULL, nerr[256];
	size_t n = 0;

	if (read_addrs(e, now, &n) || (n == e->n_lan && !memcmp(now, e->lan, n * sizeof(now[0]))))
		return;
	memcpy(e->lan, now, n * sizeof(now[0]));
	e->n_lan = n;
	rules_params(e, &p);
	if (nftrules_exit_sets_script(&p, &script) == 0 && nft_apply(script, nerr, sizeof(nerr)) == 0)
		log_info("exit node: the host's addresses changed; its networks in table inet %s follow", e->table);
	else
		log_warn("exit node: cannot update the host's networks in table inet %s: %s", e->table,
			 script ? nerr : "out of memory");
	free(script);
}

/* Other tables' forward chains that drop what we forward. */
static void read_drops(const struct exit_node *e, char *warn, size_t warnlen)
{
	const char *ifs[2] = { e->mesh_if, e->uplink };
	struct nft_drop drops[EXIT_NODE_DROPS_MAX];
	size_t n = 0, o = 0;

	warn[0] = 0;
	if (nft_forward_drops(NFTRULES_FAMILY, e->table, ifs, 2, drops, EXIT_NODE_DROPS_MAX, &n) < 0 || !n)
		return;
	for (size_t i = 0; i < n && i < EXIT_NODE_DROPS_MAX && o < warnlen; i++) {
		char name[600];

		nft_drop_format(&drops[i], name, sizeof(name));
		o += (size_t)snprintf(warn + o, warnlen - o, "%s%s", i ? "; " : "", name);
	}
	if (o < warnlen)
		snprintf(warn + o, warnlen - o, ": it will drop what this exit node forwards unless it accepts "
			 "traffic between %s and %s", e->mesh_if, e->uplink);
}

bool exit_node_check(struct exit_node *e)
{
	char now[sizeof(e->warn)];

	follow_addrs(e);
	read_drops(e, now, sizeof(now));
	if (!strcmp(now, e->warn))
		return false;
	if (now[0])
		log_warn("exit node: firewall: %s", now);
	else
		log_info("exit node: firewall: nothing drops forwarded traffic any more");
	snprintf(e->warn, sizeof(e->warn), "%s", now);
	return true;
}

const char *exit_node_warning(const struct exit_node *e)
{
	return e ? e->warn : "";
}

void exit_node_status(const struct exit_node *e, char *out, size_t len)
{
	const char *w = e->warn, *colon;

	if (!w[0]) {
		snprintf(out, len, "exit node: forwarding");
		return;
	}
	/* the first chain named, without the advice */
	colon = strpbrk(w, ";:");
	snprintf(out, len, "exit node: firewall may drop forwarded traffic: %.*s", (int)(colon ? colon - w : 80), w);
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
