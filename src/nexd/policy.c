#include "nexd/policy.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "nexd/netlink.h"

static const int families[] = { AF_INET, AF_INET6 };

static int add_rules(struct nl *nl, int family)
{
	struct nl_rule r[3];
	int ret;

	memset(r, 0, sizeof(r));
	r[0] = (struct nl_rule){ .family = family, .priority = PRIO_SUPPRESS, .table = RT_TABLE_MAIN,
				 .has_suppress_prefixlen = true, .suppress_prefixlen = 0 };
	r[1] = (struct nl_rule){ .family = family, .priority = PRIO_OOB, .table = TABLE_OOB,
				 .has_fwmark = true, .fwmark = MARK_OOB, .fwmask = 0xffffffffu };
	r[2] = (struct nl_rule){ .family = family, .priority = PRIO_TUNNEL, .table = TABLE_TUNNEL,
				 .invert = true, .has_fwmark = true, .fwmark = MARK_WG, .fwmask = 0xffffffffu };
	for (int i = 0; i < 3; i++) {
		ret = nl_rule_add(nl, &r[i]);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

int policy_install(struct nl *nl, unsigned mesh_ifindex)
{
	bool changed;
	unsigned uplink;
	int r;

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		struct nl_route route = { 0 };

		route.dst.family = families[f];
		route.dst.prefix = 0;
		route.table = TABLE_TUNNEL;
		route.type = RTN_UNICAST;
		route.oif = mesh_ifindex;
		r = nl_route_add(nl, &route);
		if (r && r != -EEXIST) {
			if (families[f] == AF_INET6) {
				/* A host without IPv6 on the mesh interface: nothing to route. */
				log_info("exit client: no IPv6 default route into the tunnel (%s)", strerror(-r));
				continue;
			}
			return r;
		}
		r = add_rules(nl, families[f]);
		if (r)
			return r;
	}
	return policy_sync_oob_table(nl, &changed, &uplink);
}

static bool route_same(const struct nl_route *a, const struct nl_route *b)
{
	return a->oif == b->oif && a->has_gateway == b->has_gateway &&
	       (!a->has_gateway || !memcmp(a->gateway, b->gateway, 16));
}

int policy_sync_oob_table(struct nl *nl, bool *changed, unsigned *uplink)
{
	*changed = false;
	*uplink = 0;
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		struct nl_route main_def, cur[8];
		size_t n = 0;
		bool have_main, same = false;
		int r;

		r = nl_route_get_default(nl, families[f], &main_def);
		have_main = r == 0;
		if (r && r != -ENOENT)
			return r;
		if (have_main && families[f] == AF_INET)
			*uplink = main_def.oif;
		r = nl_route_list(nl, families[f], TABLE_OOB, cur, 8, &n);
		if (r && r != -ENOSPC)
			return r;
		if (have_main && n == 1 && cur[0].dst.prefix == 0 && route_same(&cur[0], &main_def))
			same = true;
		if (!have_main && n == 0)
			same = true;
		if (same)
			continue;
		*changed = true;
		{
			unsigned removed;
			r = nl_route_flush_table(nl, families[f], TABLE_OOB, &removed);
			if (r && r != -ENOENT)
				return r;
		}
		if (have_main) {
			struct nl_route copy = { 0 };

			copy.dst.family = families[f];
			copy.table = TABLE_OOB;
			copy.type = RTN_UNICAST;
			copy.oif = main_def.oif;
			copy.has_gateway = main_def.has_gateway;
			memcpy(copy.gateway, main_def.gateway, 16);
			r = nl_route_add(nl, &copy);
			if (r && r != -EEXIST)
				return r;
		}
	}
	return 0;
}

int policy_remove(struct nl *nl, unsigned *removed)
{
	static const uint32_t prios[] = { PRIO_SUPPRESS, PRIO_OOB, PRIO_TUNNEL };
	static const uint32_t tables[] = { TABLE_TUNNEL, TABLE_OOB };
	int first_err = 0;

	*removed = 0;
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		for (size_t i = 0; i < sizeof(prios) / sizeof(prios[0]); i++) {
			unsigned n = 0;
			int r = nl_rule_del_priority(nl, families[f], prios[i], &n);
			*removed += n;
			if (r && r != -ENOENT && r != -EAFNOSUPPORT && !first_err)
				first_err = r;
		}
		for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
			unsigned n = 0;
			int r = nl_route_flush_table(nl, families[f], tables[i], &n);
			*removed += n;
			if (r && r != -ENOENT && r != -EAFNOSUPPORT && !first_err)
				first_err = r;
		}
	}
	return first_err;
}
