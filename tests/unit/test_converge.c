/* nexd's convergence: desired mesh vs running interface -> one change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/converge.h"

static struct mesh_peer make_peer(uint8_t id, const char *tunnel, const char *local, const char *stun)
{
	struct mesh_peer p;

	memset(&p, 0, sizeof(p));
	memset(p.public_key, id, sizeof(p.public_key));
	assert_int_equal(cidr_parse(tunnel, &p.tunnel_ip), 0);
	if (local) {
		assert_int_equal(addr_endpoint_parse(local, &p.local_ep), 0);
		p.has_local = true;
	}
	if (stun) {
		assert_int_equal(addr_endpoint_parse(stun, &p.reflexive_ep), 0);
		p.has_reflexive = true;
	}
	return p;
}

static void endpoint_choice(void **state)
{
	struct mesh_self self = { 0 };
	struct mesh_peer p = make_peer(1, "100.100.0.2/32", "192.0.2.10:51820", "203.0.113.5:40000");
	union sockaddr_any ep;
	char buf[ADDR_ENDPOINT_STRLEN];

	(void)state;
	/* We know no reflexive address of ours: use theirs. */
	assert_true(converge_pick_endpoint(&self, &p, &ep));
	addr_endpoint_format(&ep, buf);
	assert_string_equal(buf, "203.0.113.5:40000");
	/* Behind the same public address: the local endpoint. */
	self.has_reflexive = true;
	assert_int_equal(addr_endpoint_parse("203.0.113.5:51820", &self.reflexive_ep), 0);
	assert_true(converge_pick_endpoint(&self, &p, &ep));
	addr_endpoint_format(&ep, buf);
	assert_string_equal(buf, "192.0.2.10:51820");
	/* Another public address: reflexive. */
	assert_int_equal(addr_endpoint_parse("198.51.100.9:51820", &self.reflexive_ep), 0);
	assert_true(converge_pick_endpoint(&self, &p, &ep));
	addr_endpoint_format(&ep, buf);
	assert_string_equal(buf, "203.0.113.5:40000");
	/* Only a local endpoint. */
	p.has_reflexive = false;
	assert_true(converge_pick_endpoint(&self, &p, &ep));
	addr_endpoint_format(&ep, buf);
	assert_string_equal(buf, "192.0.2.10:51820");
	/* None. */
	p.has_local = false;
	assert_false(converge_pick_endpoint(&self, &p, &ep));
}

static struct wg_peer_info running_peer(uint8_t id, const char *tunnel, const char *ep, uint16_t ka)
{
	struct wg_peer_info r;

	memset(&r, 0, sizeof(r));
	memset(r.public_key, id, sizeof(r.public_key));
	r.allowed_ips = calloc(1, sizeof(struct cidr));
	assert_non_null(r.allowed_ips);
	assert_int_equal(cidr_parse(tunnel, &r.allowed_ips[0]), 0);
	r.n_allowed_ips = 1;
	if (ep)
		assert_int_equal(addr_endpoint_parse(ep, &r.endpoint), 0);
	r.persistent_keepalive_interval = ka;
	return r;
}

static void plan_add_change_remove(void **state)
{
	struct mesh_self self = { 0 };
	struct mesh_peer want[2];
	struct wg_peer_info run[2];
	struct wg_device_info info;
	struct converge_memory mem = { 0 };
	struct wg_config c;
	bool changed;

	(void)state;
	want[0] = make_peer(1, "100.100.0.2/32", "192.0.2.10:51820", NULL);
	want[1] = make_peer(2, "100.100.0.3/32", "192.0.2.11:51820", NULL);

	/* Empty interface: both peers added with allowed IP, endpoint, keepalive. */
	assert_int_equal(converge_plan(&self, want, 2, NULL, &mem, &c, &changed), 0);
	assert_true(changed);
	assert_int_equal(c.n_peers, 2);
	for (int i = 0; i < 2; i++) {
		assert_true(c.peers[i].replace_allowed_ips);
		assert_int_equal(c.peers[i].n_allowed_ips, 1);
		assert_true(c.peers[i].has_endpoint);
		assert_true(c.peers[i].has_persistent_keepalive);
		assert_int_equal(c.peers[i].persistent_keepalive_interval, MESH_PERSISTENT_KEEPALIVE);
		assert_false(c.peers[i].remove);
	}
	wg_config_release(&c);

	/* Running as wanted: nothing to do. */
	memset(&info, 0, sizeof(info));
	run[0] = running_peer(1, "100.100.0.2/32", "192.0.2.10:51820", MESH_PERSISTENT_KEEPALIVE);
	run[1] = running_peer(2, "100.100.0.3/32", "192.0.2.11:51820", MESH_PERSISTENT_KEEPALIVE);
	info.peers = run;
	info.n_peers = 2;
	assert_int_equal(converge_plan(&self, want, 2, &info, &mem, &c, &changed), 0);
	assert_false(changed);
	assert_int_equal(c.n_peers, 0);
	wg_config_release(&c);

	/* A peer roamed (WireGuard moved its endpoint): not pulled back. */
	assert_int_equal(addr_endpoint_parse("198.51.100.7:9999", &run[0].endpoint), 0);
	assert_int_equal(converge_plan(&self, want, 2, &info, &mem, &c, &changed), 0);
	assert_false(changed);
	wg_config_release(&c);

	/* The server's endpoint changed: set. Peer 2 deleted: removed. */
	want[0].local_ep.in4.sin_port = htons(51821);
	assert_int_equal(converge_plan(&self, want, 1, &info, &mem, &c, &changed), 0);
	assert_true(changed);
	assert_int_equal(c.n_peers, 2);
	assert_true(c.peers[0].remove);
	assert_memory_equal(c.peers[0].public_key, run[1].public_key, 32);
	assert_false(c.peers[1].remove);
	assert_true(c.peers[1].has_endpoint);
	assert_false(c.peers[1].replace_allowed_ips);
	assert_int_equal(ntohs(c.peers[1].endpoint.in4.sin_port), 51821);
	wg_config_release(&c);

	/* An extra allowed IP (an exit node's default route) replaces the set. */
	want[0].n_extra = 1;
	assert_int_equal(cidr_parse("0.0.0.0/0", &want[0].extra[0]), 0);
	assert_int_equal(converge_plan(&self, want, 1, &info, &mem, &c, &changed), 0);
	assert_true(changed);
	assert_true(c.peers[1].replace_allowed_ips);
	assert_int_equal(c.peers[1].n_allowed_ips, 2);
	wg_config_release(&c);

	free(run[0].allowed_ips);
	free(run[1].allowed_ips);
	converge_memory_release(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoint_choice),
		cmocka_unit_test(plan_add_change_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
