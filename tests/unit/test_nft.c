/* nft_forward_drops_parse: what in other tables drops an exit node's
 * forwarded traffic, on a listing made by nft 1.0.6 (`nft -j list ruleset`)
 * of this ruleset:
 *
 *   table ip filter   { chain FORWARD { hook forward; policy drop; } }
 *   table inet fw     { chain fchain { hook forward; policy accept;
 *                         ct state invalid drop; oifname "eth9" drop;
 *                         iifname "wg0" counter drop; ip daddr 192.0.2.1 drop; }
 *                       chain helper { drop } }
 *   table inet fw2    { chain fchain { hook forward priority 10; policy accept;
 *                         iifname { "wg0", "eth7" } reject; }
 *                       chain inchain { hook input; policy drop; } }
 *   table inet nexd-exit-wg0 { chain forward { hook forward; policy drop; oifname "wg0" drop; } }
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nexd/nft.h"

static const char listing[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"release_name\": \"Lester Gooch #5\", \"json_schema_"
	"version\": 1}}, {\"table\": {\"family\": \"ip\", \"name\": \"filter\", \"handle\": 1}}, {\"chain\": {\"family\": "
	"\"ip\", \"table\": \"filter\", \"name\": \"FORWARD\", \"handle\": 1, \"type\": \"filter\", \"hook\": \"forward\", \"p"
	"rio\": 0, \"policy\": \"drop\"}}, {\"table\": {\"family\": \"inet\", \"name\": \"fw\", \"handle\": 2}}, {\"chain\":"
	" {\"family\": \"inet\", \"table\": \"fw\", \"name\": \"fchain\", \"handle\": 1, \"type\": \"filter\", \"hook\": \"for"
	"ward\", \"prio\": 0, \"policy\": \"accept\"}}, {\"chain\": {\"family\": \"inet\", \"table\": \"fw\", \"name\": \"hel"
	"per\", \"handle\": 2}}, {\"rule\": {\"family\": \"inet\", \"table\": \"fw\", \"chain\": \"fchain\", \"handle\": 3, "
	"\"expr\": [{\"match\": {\"op\": \"in\", \"left\": {\"ct\": {\"key\": \"state\"}}, \"right\": \"invalid\"}}, {\"drop\":"
	" null}]}}, {\"rule\": {\"family\": \"inet\", \"table\": \"fw\", \"chain\": \"fchain\", \"handle\": 4, \"expr\": [{"
	"\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"oifname\"}}, \"right\": \"eth9\"}}, {\"drop\": null}]}}"
	", {\"rule\": {\"family\": \"inet\", \"table\": \"fw\", \"chain\": \"fchain\", \"handle\": 5, \"expr\": [{\"match\": "
	"{\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"iifname\"}}, \"right\": \"wg0\"}}, {\"counter\": {\"packets\": 0, "
	"\"bytes\": 0}}, {\"drop\": null}]}}, {\"rule\": {\"family\": \"inet\", \"table\": \"fw\", \"chain\": \"fchain\", \""
	"handle\": 6, \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"dad"
	"dr\"}}, \"right\": \"192.0.2.1\"}}, {\"drop\": null}]}}, {\"rule\": {\"family\": \"inet\", \"table\": \"fw\", \"ch"
	"ain\": \"helper\", \"handle\": 7, \"expr\": [{\"drop\": null}]}}, {\"table\": {\"family\": \"inet\", \"name\": \"f"
	"w2\", \"handle\": 3}}, {\"chain\": {\"family\": \"inet\", \"table\": \"fw2\", \"name\": \"fchain\", \"handle\": 1, "
	"\"type\": \"filter\", \"hook\": \"forward\", \"prio\": 10, \"policy\": \"accept\"}}, {\"chain\": {\"family\": \"ine"
	"t\", \"table\": \"fw2\", \"name\": \"inchain\", \"handle\": 2, \"type\": \"filter\", \"hook\": \"input\", \"prio\": 0"
	", \"policy\": \"drop\"}}, {\"rule\": {\"family\": \"inet\", \"table\": \"fw2\", \"chain\": \"fchain\", \"handle\": 4"
	", \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"iifname\"}}, \"right\": {\"set\": [\"wg0\","
	" \"eth7\"]}}}, {\"reject\": {\"type\": \"icmpx\", \"expr\": \"port-unreachable\"}}]}}, {\"table\": {\"family\": "
	"\"inet\", \"name\": \"nexd-exit-wg0\", \"handle\": 4}}, {\"chain\": {\"family\": \"inet\", \"table\": \"nexd-exit"
	"-wg0\", \"name\": \"forward\", \"handle\": 1, \"type\": \"filter\", \"hook\": \"forward\", \"prio\": 0, \"policy\":"
	" \"drop\"}}, {\"rule\": {\"family\": \"inet\", \"table\": \"nexd-exit-wg0\", \"chain\": \"forward\", \"handle\": 2"
	", \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"oifname\"}}, \"right\": \"wg0\"}}, {\"drop"
	"\": null}]}}]}";

static void drops(const char *const *ifs, size_t n_ifs, const char *want)
{
	struct nft_drop d[8];
	char got[1024] = "", one[600];
	size_t n = 0, o = 0;

	assert_int_equal(nft_forward_drops_parse(listing, strlen(listing), "inet", "nexd-exit-wg0", ifs, n_ifs, d, 8,
						 &n), 0);
	for (size_t i = 0; i < n && i < 8; i++) {
		nft_drop_format(&d[i], one, sizeof(one));
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", i ? "; " : "", one);
	}
	assert_string_equal(got, want);
}

static void judged(void **state)
{
	const char *ours[2] = { "wg0", "eth0" };
	const char *other[2] = { "wg1", "eth0" };

	(void)state;
	/* policy drop; a rule aimed at wg0 (counted once per chain); a set
	 * naming wg0. Not: ct state invalid, another interface, an address,
	 * a regular chain, an input chain, our own table. */
	drops(ours, 2, "table ip filter, chain FORWARD has policy drop; "
		       "table inet fw, chain fchain has a rule that drops it; "
		       "table inet fw2, chain fchain has a rule that drops it");
	drops(other, 2, "table ip filter, chain FORWARD has policy drop");
}

static void refused(void **state)
{
	struct nft_drop d[1];
	size_t n = 7;
	const char *ifs[1] = { "wg0" };

	(void)state;
	assert_int_equal(nft_forward_drops_parse("[]", 2, NULL, NULL, ifs, 1, d, 1, &n), -EBADMSG);
	assert_int_equal(nft_forward_drops_parse("{", 1, NULL, NULL, ifs, 1, d, 1, &n), -EBADMSG);
	assert_int_equal(nft_forward_drops_parse("{}", 2, NULL, NULL, ifs, 1, d, 1, &n), -EBADMSG);
	assert_int_equal(nft_forward_drops_parse("{\"nftables\": []}", 16, NULL, NULL, ifs, 1, d, 1, &n), 0);
	assert_int_equal(n, 0);
	/* more than cap: counted, cap filled */
	assert_int_equal(nft_forward_drops_parse(listing, strlen(listing), NULL, NULL, ifs, 1, d, 1, &n), 0);
	assert_int_equal(n, 5);   /* our own table too, policy and rule */
	assert_string_equal(d[0].chain.table, "filter");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(judged),
		cmocka_unit_test(refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
