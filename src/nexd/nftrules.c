/* The text of nexd's nftables tables: a bounded string builder with a sticky
 * error, validated interface names, addresses written by inet_ntop. */
#include "nexd/nftrules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/marks.h"

/* ------------------------------------------------------------ the builder */

struct sbuf {
	char *buf;
	size_t len, cap;
	int err;       /* sticky: the first error */
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	if (!sb->buf) {
		sb->cap = 4096;
		sb->buf = malloc(sb->cap);
		if (!sb->buf) {
			sb->err = -ENOMEM;
			return;
		}
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->err = -EINVAL;
			return;
		}
		if ((size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		if (sb->len + (size_t)n + 1 > NFTRULES_SCRIPT_MAX) {
			sb->err = -E2BIG;
			return;
		}
		size_t ncap = sb->cap * 2;
		while (ncap < sb->len + (size_t)n + 1)
			ncap *= 2;
		if (ncap > NFTRULES_SCRIPT_MAX)
			ncap = NFTRULES_SCRIPT_MAX;
		char *nb = realloc(sb->buf, ncap);
		if (!nb) {
			sb->err = -ENOMEM;
			return;
		}
		sb->buf = nb;
		sb->cap = ncap;
	}
}

/* Hands the text to *out, or frees it and returns the sticky error. */
static int sb_finish(struct sbuf *sb, char **out)
{
	if (sb->err == 0 && !sb->buf)
		sb_printf(sb, "%s", "");
	if (sb->err) {
		free(sb->buf);
		return sb->err;
	}
	*out = sb->buf;
	return 0;
}

/* ------------------------------------------------------------ names */

bool nftrules_ifname_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strnlen(name, NFTRULES_IFNAME_MAX + 1);
	if (len == 0 || len > NFTRULES_IFNAME_MAX)
		return false;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static int table_name(const char *prefix, const char *ifname, char out[NFTRULES_TABLE_NAME_MAX + 1])
{
	int n;

	if (!nftrules_ifname_valid(ifname))
		return -EINVAL;
	n = snprintf(out, NFTRULES_TABLE_NAME_MAX + 1, "%s%s", prefix, ifname);
	if (n < 0 || n > NFTRULES_TABLE_NAME_MAX)
		return -EINVAL;
	return 0;
}

int nftrules_exit_table(const char *ifname, char out[NFTRULES_TABLE_NAME_MAX + 1])
{
	return table_name(NFTRULES_EXIT_PREFIX, ifname, out);
}

int nftrules_client_table(const char *ifname, char out[NFTRULES_TABLE_NAME_MAX + 1])
{
	return table_name(NFTRULES_CLIENT_PREFIX, ifname, out);
}

/* "add table; delete table; table T {": one transaction that replaces T. */
static void table_open(struct sbuf *sb, const char *table)
{
	sb_printf(sb, "add table " NFTRULES_FAMILY " %s\n", table);
	sb_printf(sb, "delete table " NFTRULES_FAMILY " %s\n", table);
	sb_printf(sb, "table " NFTRULES_FAMILY " %s {\n", table);
}

static void chain_open(struct sbuf *sb, const char *name, const char *type, const char *hook,
		       const char *prio)
{
	sb_printf(sb, "\tchain %s {\n", name);
	sb_printf(sb, "\t\ttype %s hook %s priority %s; policy accept;\n", type, hook, prio);
}

/* ------------------------------------------------------------ exit node */

/* The prefixes of one family to write: host bits cleared, no duplicate, none
 * inside another (an interval set refuses overlapping elements). host: as
 * host addresses. Returns how many went to out. */
static size_t nets_of(const struct cidr *in, size_t n, int family, bool host, struct cidr *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct cidr c = in[i];
		bool skip = false;

		if (c.family != family)
			continue;
		if (host)
			c.prefix = family == AF_INET ? 32 : 128;
		cidr_normalize(&c);
		for (size_t j = 0; j < k && !skip; j++) {
			if (out[j].prefix <= c.prefix && cidr_contains(&out[j], family, c.addr)) {
				skip = true;
			} else if (c.prefix < out[j].prefix && cidr_contains(&c, family, out[j].addr)) {
				out[j] = out[--k];   /* c holds it: replaced below */
				j = (size_t)-1;      /* look again from the start */
			}
		}
		if (!skip)
			out[k++] = c;
	}
	return k;
}

static void cidr_elements(struct sbuf *sb, const struct cidr *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char text[ADDR_CIDR_STRLEN];

		cidr_format(&c[i], text);
		if ((c[i].family == AF_INET && c[i].prefix == 32) || (c[i].family == AF_INET6 && c[i].prefix == 128))
			*strchr(text, '/') = 0;
		sb_printf(sb, "%s%s", i ? ", " : "", text);
	}
}

struct exit_nets {
	struct cidr lan4[NFTRULES_NETS_MAX], lan6[NFTRULES_NETS_MAX];
	struct cidr own4[NFTRULES_NETS_MAX], own6[NFTRULES_NETS_MAX];
	size_t n_lan4, n_lan6, n_own4, n_own6;
};

static int exit_nets(const struct nftrules_exit *p, struct exit_nets *x)
{
	if (p->n_lan > NFTRULES_NETS_MAX || p->n_own > NFTRULES_NETS_MAX || (p->n_lan && !p->lan) ||
	    (p->n_own && !p->own))
		return p->n_lan > NFTRULES_NETS_MAX || p->n_own > NFTRULES_NETS_MAX ? -E2BIG : -EINVAL;
	memset(x, 0, sizeof(*x));
	if (!p->allow_lan) {
		x->n_lan4 = nets_of(p->lan, p->n_lan, AF_INET, false, x->lan4);
		x->n_lan6 = nets_of(p->lan, p->n_lan, AF_INET6, false, x->lan6);
	}
	x->n_own4 = nets_of(p->own, p->n_own, AF_INET, true, x->own4);
	x->n_own6 = nets_of(p->own, p->n_own, AF_INET6, true, x->own6);
	return 0;
}

static void set_decl(struct sbuf *sb, const char *name, const char *type, bool interval,
		     const struct cidr *c, size_t n)
{
	sb_printf(sb, "\tset %s {\n\t\ttype %s\n", name, type);
	if (interval)
		sb_printf(sb, "\t\tflags interval\n");
	if (n) {
		sb_printf(sb, "\t\telements = { ");
		cidr_elements(sb, c, n);
		sb_printf(sb, " }\n");
	}
	sb_printf(sb, "\t}\n\n");
}

static bool exit_names_ok(const struct nftrules_exit *p, char table[NFTRULES_TABLE_NAME_MAX + 1])
{
	return p && nftrules_exit_table(p->ifname, table) == 0 && nftrules_ifname_valid(p->uplink) &&
	       strcmp(p->ifname, p->uplink) != 0;
}

int nftrules_exit_script(const struct nftrules_exit *p, char **out)
{
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	struct sbuf sb = { 0 };
	struct exit_nets *x;
	const char *m, *u;
	int r;

	if (!exit_names_ok(p, table))
		return -EINVAL;
	x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	r = exit_nets(p, x);
	if (r) {
		free(x);
		return r;
	}
	m = p->ifname;
	u = p->uplink;

	table_open(&sb, table);
	set_decl(&sb, "lan4", "ipv4_addr", true, x->lan4, x->n_lan4);
	set_decl(&sb, "lan6", "ipv6_addr", true, x->lan6, x->n_lan6);
	set_decl(&sb, "own4", "ipv4_addr", false, x->own4, x->n_own4);
	set_decl(&sb, "own6", "ipv6_addr", false, x->own6, x->n_own6);

	/* before the filter: forwarded SYNs (and SYN-ACKs) both ways */
	chain_open(&sb, "mss", "filter", "forward", "mangle");
	sb_printf(&sb, "\t\tiifname \"%s\" oifname \"%s\" tcp flags syn counter tcp option maxseg size set rt mtu\n", m, u);
	sb_printf(&sb, "\t\tiifname \"%s\" oifname \"%s\" tcp flags syn counter tcp option maxseg size set rt mtu\n", u, m);
	sb_printf(&sb, "\t}\n\n");

	chain_open(&sb, "forward", "filter", "forward", "filter");
	if (!p->ipv6) {
		sb_printf(&sb, "\t\tiifname \"%s\" meta nfproto ipv6 counter drop\n", m);
		sb_printf(&sb, "\t\toifname \"%s\" meta nfproto ipv6 counter drop\n", m);
	}
	/* the internet, not the exit host's own networks */
	sb_printf(&sb, "\t\tiifname \"%s\" ip daddr 169.254.0.0/16 counter drop\n", m);
	sb_printf(&sb, "\t\tiifname \"%s\" ip6 daddr fe80::/10 counter drop\n", m);
	sb_printf(&sb, "\t\tiifname \"%s\" ip daddr @lan4 counter drop\n", m);
	sb_printf(&sb, "\t\tiifname \"%s\" ip6 daddr @lan6 counter drop\n", m);
	if (p->mesh_to_mesh)
		sb_printf(&sb, "\t\tiifname \"%s\" oifname \"%s\" counter accept\n", m, m);
	sb_printf(&sb, "\t\tiifname \"%s\" oifname \"%s\" counter accept\n", m, u);
	sb_printf(&sb, "\t\tiifname \"%s\" oifname \"%s\" ct state established,related counter accept\n", u, m);
	sb_printf(&sb, "\t\toifname \"%s\" counter drop\n", m);
	/* the mesh goes out of the uplink only: not to networks behind the
	 * host's other interfaces, even with --exit-node-allow-lan */
	sb_printf(&sb, "\t\tiifname \"%s\" counter drop\n", m);
	sb_printf(&sb, "\t}\n\n");

	/* the exit host itself, but for its mesh addresses */
	chain_open(&sb, "input", "filter", "input", "filter");
	sb_printf(&sb, "\t\tiifname \"%s\" ip daddr @own4 counter drop\n", m);
	sb_printf(&sb, "\t\tiifname \"%s\" ip6 daddr @own6 counter drop\n", m);
	sb_printf(&sb, "\t}\n\n");

	chain_open(&sb, "postrouting", "nat", "postrouting", "srcnat");
	sb_printf(&sb, "\t\tiifname \"%s\" oifname \"%s\" counter masquerade\n", m, u);
	sb_printf(&sb, "\t}\n");
	sb_printf(&sb, "}\n");
	free(x);
	return sb_finish(&sb, out);
}

int nftrules_exit_sets_script(const struct nftrules_exit *p, char **out)
{
	static const char *const names[4] = { "lan4", "lan6", "own4", "own6" };
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	struct sbuf sb = { 0 };
	struct exit_nets *x;
	int r;

	if (!exit_names_ok(p, table))
		return -EINVAL;
	x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	r = exit_nets(p, x);
	if (r) {
		free(x);
		return r;
	}
	const struct cidr *sets[4] = { x->lan4, x->lan6, x->own4, x->own6 };
	size_t ns[4] = { x->n_lan4, x->n_lan6, x->n_own4, x->n_own6 };

	for (int i = 0; i < 4; i++) {
		sb_printf(&sb, "flush set " NFTRULES_FAMILY " %s %s\n", table, names[i]);
		if (!ns[i])
			continue;
		sb_printf(&sb, "add element " NFTRULES_FAMILY " %s %s { ", table, names[i]);
		cidr_elements(&sb, sets[i], ns[i]);
		sb_printf(&sb, " }\n");
	}
	free(x);
	return sb_finish(&sb, out);
}

/* ------------------------------------------------------------ client */

struct flow {
	uint8_t addr[16];
	uint16_t port;  /* host order */
};

/* The four sets, in the order they are written. */
enum { SET_V4_TCP, SET_V4_UDP, SET_V6_TCP, SET_V6_UDP, SET_COUNT };
static const char *const set_name[SET_COUNT] = { "oob4_tcp", "oob4_udp", "oob6_tcp", "oob6_udp" };

struct flows {
	size_t n[SET_COUNT];
	struct flow f[SET_COUNT][3 * NFTRULES_FLOWS_MAX];
};

static int flow_add(struct flows *fl, const union sockaddr_any *a, bool tcp)
{
	struct flow f;
	int set;

	memset(&f, 0, sizeof(f));
	if (a->sa.sa_family == AF_INET) {
		memcpy(f.addr, &a->in4.sin_addr, 4);
		f.port = ntohs(a->in4.sin_port);
		set = tcp ? SET_V4_TCP : SET_V4_UDP;
	} else if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
		memcpy(f.addr, a->in6.sin6_addr.s6_addr + 12, 4);
		f.port = ntohs(a->in6.sin6_port);
		set = tcp ? SET_V4_TCP : SET_V4_UDP;
	} else if (a->sa.sa_family == AF_INET6) {
		memcpy(f.addr, &a->in6.sin6_addr, 16);
		f.port = ntohs(a->in6.sin6_port);
		set = tcp ? SET_V6_TCP : SET_V6_UDP;
	} else {
		return -EINVAL;
	}
	if (f.port == 0)
		return -EINVAL;
	for (size_t i = 0; i < fl->n[set]; i++)
		if (memcmp(&fl->f[set][i], &f, sizeof(f)) == 0)
			return 0;
	if (fl->n[set] >= sizeof(fl->f[set]) / sizeof(fl->f[set][0]))
		return -E2BIG;
	fl->f[set][fl->n[set]++] = f;
	return 0;
}

static int flows_collect(const struct nftrules_oob *oob, struct flows *fl)
{
	int err;

	memset(fl, 0, sizeof(*fl));
	if (!oob)
		return 0;
	if (oob->n_api > NFTRULES_FLOWS_MAX || oob->n_dns > NFTRULES_FLOWS_MAX ||
	    oob->n_stun > NFTRULES_FLOWS_MAX)
		return -E2BIG;
	if ((oob->n_api && !oob->api) || (oob->n_dns && !oob->dns) || (oob->n_stun && !oob->stun))
		return -EINVAL;
	for (size_t i = 0; i < oob->n_api; i++)
		if ((err = flow_add(fl, &oob->api[i], true)) < 0)
			return err;
	for (size_t i = 0; i < oob->n_dns; i++) {
		if ((err = flow_add(fl, &oob->dns[i], false)) < 0)
			return err;
		if ((err = flow_add(fl, &oob->dns[i], true)) < 0)
			return err;
	}
	for (size_t i = 0; i < oob->n_stun; i++)
		if ((err = flow_add(fl, &oob->stun[i], false)) < 0)
			return err;
	return 0;
}

/* "{ a . p, b . q }" */
static void elements(struct sbuf *sb, const struct flows *fl, int set)
{
	int af = set == SET_V4_TCP || set == SET_V4_UDP ? AF_INET : AF_INET6;
	char ip[INET6_ADDRSTRLEN];

	sb_printf(sb, "{ ");
	for (size_t i = 0; i < fl->n[set]; i++) {
		if (!inet_ntop(af, fl->f[set][i].addr, ip, sizeof(ip))) {
			sb->err = sb->err ? sb->err : -EINVAL;
			return;
		}
		sb_printf(sb, "%s%s . %u", i ? ", " : "", ip, (unsigned)fl->f[set][i].port);
	}
	sb_printf(sb, " }");
}

/* A prefix normalized and written from binary. */
static int prefix_text(const struct cidr *c, int family, char out[ADDR_CIDR_STRLEN])
{
	struct cidr n = *c;
	char ip[INET6_ADDRSTRLEN];

	if (n.family != family || n.prefix > (family == AF_INET ? 32 : 128))
		return -EINVAL;
	cidr_normalize(&n);
	if (!inet_ntop(family, n.addr, ip, sizeof(ip)))
		return -EINVAL;
	snprintf(out, ADDR_CIDR_STRLEN, "%s/%u", ip, (unsigned)n.prefix);
	return 0;
}

#define OOB MARK_TEXT(MARK_OOB)
#define WGM MARK_TEXT(MARK_WG)

int nftrules_client_script(const struct nftrules_client *p, char **out)
{
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	char mesh4[ADDR_CIDR_STRLEN], mesh6[ADDR_CIDR_STRLEN];
	struct sbuf sb = { 0 };
	struct flows *fl;
	const char *m;
	int err;

	if (!p || nftrules_client_table(p->ifname, table) < 0 ||
	    (p->uplink && (!nftrules_ifname_valid(p->uplink) || strcmp(p->uplink, p->ifname) == 0)))
		return -EINVAL;
	if (prefix_text(&p->mesh4, AF_INET, mesh4) < 0 ||
	    (p->has_mesh6 && prefix_text(&p->mesh6, AF_INET6, mesh6) < 0))
		return -EINVAL;
	fl = malloc(sizeof(*fl));
	if (!fl)
		return -ENOMEM;
	err = flows_collect(&p->oob, fl);
	if (err < 0)
		goto out_free_flows;
	m = p->ifname;

	table_open(&sb, table);
	for (int s = 0; s < SET_COUNT; s++) {
		sb_printf(&sb, "\tset %s {\n", set_name[s]);
		sb_printf(&sb, "\t\ttype %s . inet_service\n",
			  s == SET_V4_TCP || s == SET_V4_UDP ? "ipv4_addr" : "ipv6_addr");
		if (fl->n[s]) {
			sb_printf(&sb, "\t\telements = ");
			elements(&sb, fl, s);
			sb_printf(&sb, "\n");
		}
		sb_printf(&sb, "\t}\n\n");
	}

	/* out of band: mark (the route chain reroutes), follow the flow, save */
	chain_open(&sb, "oob_mark", "route", "output", "mangle");
	sb_printf(&sb, "\t\tip daddr . tcp dport @oob4_tcp counter meta mark set " OOB "\n");
	sb_printf(&sb, "\t\tip daddr . udp dport @oob4_udp counter meta mark set " OOB "\n");
	sb_printf(&sb, "\t\tip6 daddr . tcp dport @oob6_tcp counter meta mark set " OOB "\n");
	sb_printf(&sb, "\t\tip6 daddr . udp dport @oob6_udp counter meta mark set " OOB "\n");
	sb_printf(&sb, "\t\tct mark " OOB " meta mark set " OOB "\n");
	sb_printf(&sb, "\t\tmeta mark " OOB " ct mark set meta mark\n");
	sb_printf(&sb, "\t}\n\n");

	/* our WireGuard UDP: its mark into the ct mark (as wg-quick does) */
	chain_open(&sb, "mark_save", "filter", "postrouting", "mangle");
	sb_printf(&sb, "\t\tmeta l4proto udp meta mark " WGM " ct mark set meta mark\n");
	sb_printf(&sb, "\t}\n\n");

	/* replies carry the flow's mark: strict rp_filter with src_valid_mark */
	chain_open(&sb, "mark_restore", "filter", "prerouting", "mangle");
	sb_printf(&sb, "\t\tct mark { " WGM ", " OOB " } meta mark set ct mark\n");
	sb_printf(&sb, "\t}\n\n");

	/* rerouted out-of-band packets kept the tunnel address as source */
	chain_open(&sb, "oob_nat", "nat", "postrouting", "srcnat");
	if (p->uplink)
		sb_printf(&sb, "\t\tmeta mark " OOB " oifname \"%s\" counter masquerade\n", p->uplink);
	sb_printf(&sb, "\t}\n\n");

	/* new connections through the tunnel only from the mesh */
	chain_open(&sb, "mesh_in", "filter", "input", "filter");
	sb_printf(&sb, "\t\tiifname \"%s\" ct state new ip saddr != %s counter drop\n", m, mesh4);
	if (p->has_mesh6)
		sb_printf(&sb, "\t\tiifname \"%s\" ct state new ip6 saddr != %s counter drop\n", m, mesh6);
	else
		sb_printf(&sb, "\t\tiifname \"%s\" ct state new meta nfproto ipv6 counter drop\n", m);
	sb_printf(&sb, "\t}\n");

	/* no IPv6 at the exit node: nothing leaks around the tunnel. oifname is
	 * the device of the first lookup (before the reroute), so out-of-band
	 * packets are excepted by their mark. */
	if (!p->exit_ipv6) {
		sb_printf(&sb, "\n");
		chain_open(&sb, "v6_block", "filter", "output", "filter");
		if (p->has_mesh6)
			sb_printf(&sb, "\t\toifname \"%s\" meta nfproto ipv6 meta mark != " OOB
				  " ip6 daddr != %s counter reject with icmpv6 admin-prohibited\n", m, mesh6);
		else
			sb_printf(&sb, "\t\toifname \"%s\" meta nfproto ipv6 meta mark != " OOB
				  " counter reject with icmpv6 admin-prohibited\n", m);
		sb_printf(&sb, "\t}\n");
	}
	sb_printf(&sb, "}\n");
	err = sb_finish(&sb, out);
out_free_flows:
	free(fl);
	return err;
}

int nftrules_client_sets_script(const char *ifname, const struct nftrules_oob *oob, char **out)
{
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	struct sbuf sb = { 0 };
	struct flows *fl;
	int err;

	if (nftrules_client_table(ifname, table) < 0)
		return -EINVAL;
	fl = malloc(sizeof(*fl));
	if (!fl)
		return -ENOMEM;
	err = flows_collect(oob, fl);
	if (err < 0)
		goto out_free_flows;
	for (int s = 0; s < SET_COUNT; s++)
		sb_printf(&sb, "flush set " NFTRULES_FAMILY " %s %s\n", table, set_name[s]);
	for (int s = 0; s < SET_COUNT; s++) {
		if (!fl->n[s])
			continue;
		sb_printf(&sb, "add element " NFTRULES_FAMILY " %s %s ", table, set_name[s]);
		elements(&sb, fl, s);
		sb_printf(&sb, "\n");
	}
	err = sb_finish(&sb, out);
out_free_flows:
	free(fl);
	return err;
}
