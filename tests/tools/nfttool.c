/* nfttool: a small CLI over nexd's nft.c, nftrules.c and resolvconf.c, for
 * the end-to-end tests (it never runs the nft binary).
 *
 *   nfttool exit IFACE UPLINK [--ipv6] [--mesh-to-mesh] [--print]
 *   nfttool client IFACE UPLINK|- MESH4 [--mesh6 PREFIX] [--exit-ipv6]
 *           [--dns IP]... [--api IP:PORT]... [--stun IP:PORT]... [--print]
 *   nfttool sets IFACE [--dns IP]... [--api IP:PORT]... [--stun IP:PORT]... [--print]
 *   nfttool exists IFACE          prints "exit yes|no" and "client yes|no"
 *   nfttool delete IFACE          deletes both tables (absent is fine)
 *   nfttool forward-drops [IFACE] prints one warning line per policy-drop
 *                                 forward chain of other tables
 *   nfttool resolv [PATH [UPSTREAM]]  prints the DNS servers, one a line
 *
 * --print writes the script to stdout instead of applying it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "nexd/nft.h"
#include "nexd/nftrules.h"
#include "nexd/resolvconf.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: nfttool exit IFACE UPLINK [--ipv6] [--mesh-to-mesh] [--print]\n"
		"       nfttool client IFACE UPLINK|- MESH4 [--mesh6 P] [--exit-ipv6] [--dns IP]...\n"
		"               [--api IP:PORT]... [--stun IP:PORT]... [--print]\n"
		"       nfttool sets IFACE [--dns IP]... [--api IP:PORT]... [--stun IP:PORT]... [--print]\n"
		"       nfttool exists IFACE | delete IFACE | forward-drops [IFACE]\n"
		"       nfttool resolv [PATH [UPSTREAM]]\n");
	return 2;
}

struct lists {
	union sockaddr_any api[NFTRULES_FLOWS_MAX], dns[NFTRULES_FLOWS_MAX], stun[NFTRULES_FLOWS_MAX];
	size_t n_api, n_dns, n_stun;
};

/* --dns/--api/--stun VALUE at argv[*i]; 1 if consumed, 0 if not ours, -1 on error. */
static int list_opt(int argc, char **argv, int *i, struct lists *l)
{
	const char *o = argv[*i], *v;
	union sockaddr_any a;

	if (strcmp(o, "--dns") != 0 && strcmp(o, "--api") != 0 && strcmp(o, "--stun") != 0)
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "nfttool: %s needs a value\n", o);
		return -1;
	}
	v = argv[++*i];
	if (strcmp(o, "--dns") == 0) {
		int fam;
		uint8_t ip[16];

		if (addr_ip_parse(v, &fam, ip) < 0 || l->n_dns >= NFTRULES_FLOWS_MAX)
			goto bad;
		memset(&a, 0, sizeof(a));
		if (fam == AF_INET) {
			a.in4.sin_family = AF_INET;
			memcpy(&a.in4.sin_addr, ip, 4);
			a.in4.sin_port = htons(53);
		} else {
			a.in6.sin6_family = AF_INET6;
			memcpy(&a.in6.sin6_addr, ip, 16);
			a.in6.sin6_port = htons(53);
		}
		l->dns[l->n_dns++] = a;
		return 1;
	}
	if (addr_endpoint_parse(v, &a) < 0)
		goto bad;
	if (strcmp(o, "--api") == 0) {
		if (l->n_api >= NFTRULES_FLOWS_MAX)
			goto bad;
		l->api[l->n_api++] = a;
	} else {
		if (l->n_stun >= NFTRULES_FLOWS_MAX)
			goto bad;
		l->stun[l->n_stun++] = a;
	}
	return 1;
bad:
	fprintf(stderr, "nfttool: bad %s '%s'\n", o, v);
	return -1;
}

static struct nftrules_oob oob_of(const struct lists *l)
{
	struct nftrules_oob o = { l->api, l->n_api, l->dns, l->n_dns, l->stun, l->n_stun };

	return o;
}

/* Prints or applies a script; frees it. */
static int emit(int gen_err, char *script, int print)
{
	char err[512];
	int rc;

	if (gen_err < 0) {
		fprintf(stderr, "nfttool: cannot make the script: %s\n", strerror(-gen_err));
		return 1;
	}
	if (print) {
		fputs(script, stdout);
		free(script);
		return 0;
	}
	rc = nft_apply(script, err, sizeof(err));
	free(script);
	if (rc < 0) {
		fprintf(stderr, "nfttool: nft: %s\n", err);
		return 1;
	}
	return 0;
}

static int cmd_exit(int argc, char **argv)
{
	struct nftrules_exit p = { 0 };
	char *script = NULL;
	int print = 0, err;

	if (argc < 4)
		return usage();
	p.ifname = argv[2];
	p.uplink = argv[3];
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--ipv6") == 0)
			p.ipv6 = true;
		else if (strcmp(argv[i], "--mesh-to-mesh") == 0)
			p.mesh_to_mesh = true;
		else if (strcmp(argv[i], "--print") == 0)
			print = 1;
		else
			return usage();
	}
	err = nftrules_exit_script(&p, &script);
	return emit(err, script, print);
}

static int cmd_client(int argc, char **argv)
{
	static struct lists l;
	struct nftrules_client p = { 0 };
	char *script = NULL;
	int print = 0, r;

	if (argc < 5)
		return usage();
	p.ifname = argv[2];
	p.uplink = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
	if (cidr_parse(argv[4], &p.mesh4) < 0) {
		fprintf(stderr, "nfttool: bad prefix '%s'\n", argv[4]);
		return 1;
	}
	for (int i = 5; i < argc; i++) {
		if ((r = list_opt(argc, argv, &i, &l)) < 0)
			return 1;
		if (r)
			continue;
		if (strcmp(argv[i], "--exit-ipv6") == 0) {
			p.exit_ipv6 = true;
		} else if (strcmp(argv[i], "--print") == 0) {
			print = 1;
		} else if (strcmp(argv[i], "--mesh6") == 0 && i + 1 < argc) {
			if (cidr_parse(argv[++i], &p.mesh6) < 0) {
				fprintf(stderr, "nfttool: bad prefix '%s'\n", argv[i]);
				return 1;
			}
			p.has_mesh6 = true;
		} else {
			return usage();
		}
	}
	p.oob = oob_of(&l);
	r = nftrules_client_script(&p, &script);
	return emit(r, script, print);
}

static int cmd_sets(int argc, char **argv)
{
	static struct lists l;
	struct nftrules_oob oob;
	char *script = NULL;
	int print = 0, r;

	if (argc < 3)
		return usage();
	for (int i = 3; i < argc; i++) {
		if ((r = list_opt(argc, argv, &i, &l)) < 0)
			return 1;
		if (r)
			continue;
		if (strcmp(argv[i], "--print") == 0)
			print = 1;
		else
			return usage();
	}
	oob = oob_of(&l);
	r = nftrules_client_sets_script(argv[2], &oob, &script);
	return emit(r, script, print);
}

static int cmd_exists(const char *ifname)
{
	char exit_t[NFTRULES_TABLE_NAME_MAX + 1], client_t[NFTRULES_TABLE_NAME_MAX + 1];
	int e, c;

	if (nftrules_exit_table(ifname, exit_t) < 0 || nftrules_client_table(ifname, client_t) < 0) {
		fprintf(stderr, "nfttool: bad interface name '%s'\n", ifname);
		return 1;
	}
	e = nft_table_exists(NFTRULES_FAMILY, exit_t);
	c = nft_table_exists(NFTRULES_FAMILY, client_t);
	if (e < 0 || c < 0) {
		fprintf(stderr, "nfttool: listing tables: %s\n", strerror(-(e < 0 ? e : c)));
		return 1;
	}
	printf("exit %s\nclient %s\n", e ? "yes" : "no", c ? "yes" : "no");
	return 0;
}

static int cmd_delete(const char *ifname)
{
	char exit_t[NFTRULES_TABLE_NAME_MAX + 1], client_t[NFTRULES_TABLE_NAME_MAX + 1];

	if (nftrules_exit_table(ifname, exit_t) < 0 || nftrules_client_table(ifname, client_t) < 0) {
		fprintf(stderr, "nfttool: bad interface name '%s'\n", ifname);
		return 1;
	}
	if (nft_table_delete(NFTRULES_FAMILY, exit_t) < 0 ||
	    nft_table_delete(NFTRULES_FAMILY, client_t) < 0)
		return 1;
	return 0;
}

static int cmd_forward_drops(const char *ifname)
{
	struct nft_drop drops[16];
	char table[NFTRULES_TABLE_NAME_MAX + 1] = "";
	char text[2 * NFT_NAME_MAX + 64];
	const char *ifs[1] = { ifname };
	size_t n = 0;
	int err;

	if (ifname && nftrules_exit_table(ifname, table) < 0) {
		fprintf(stderr, "nfttool: bad interface name '%s'\n", ifname);
		return 1;
	}
	err = nft_forward_drops(ifname ? NFTRULES_FAMILY : NULL, ifname ? table : NULL, ifs, ifname ? 1 : 0, drops,
				sizeof(drops) / sizeof(drops[0]), &n);
	if (err < 0) {
		fprintf(stderr, "nfttool: listing the ruleset: %s\n", strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < n && i < sizeof(drops) / sizeof(drops[0]); i++) {
		nft_drop_format(&drops[i], text, sizeof(text));
		printf("%s: it will drop what this exit node forwards\n", text);
	}
	return 0;
}

static int cmd_resolv(const char *path, const char *upstream)
{
	struct resolvconf rc;
	char text[ADDR_ENDPOINT_STRLEN];
	int err = resolvconf_servers(path, upstream, &rc);

	if (err < 0) {
		fprintf(stderr, "nfttool: resolv.conf: %s\n", strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < rc.n; i++) {
		addr_endpoint_format(&rc.servers[i], text);
		printf("%s\n", text);
	}
	if (rc.from_upstream)
		printf("(from upstream)\n");
	return 0;
}

int main(int argc, char **argv)
{
	log_init("nfttool", LOG_LEVEL_INFO);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "exit") == 0)
		return cmd_exit(argc, argv);
	if (strcmp(argv[1], "client") == 0)
		return cmd_client(argc, argv);
	if (strcmp(argv[1], "sets") == 0)
		return cmd_sets(argc, argv);
	if (strcmp(argv[1], "exists") == 0 && argc == 3)
		return cmd_exists(argv[2]);
	if (strcmp(argv[1], "delete") == 0 && argc == 3)
		return cmd_delete(argv[2]);
	if (strcmp(argv[1], "forward-drops") == 0 && argc <= 3)
		return cmd_forward_drops(argc == 3 ? argv[2] : NULL);
	if (strcmp(argv[1], "resolv") == 0 && argc <= 4)
		return cmd_resolv(argc >= 3 ? argv[2] : NULL, argc >= 4 ? argv[3] : NULL);
	return usage();
}
