#include "nexd/model.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void model_init(struct mesh_model *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->api_state, sizeof(m->api_state), "connecting");
	keyindex_init(&m->relay_ix, sizeof(*m->relay.paths), offsetof(struct ev_relay_path, key), 32);
}

void model_release(struct mesh_model *m)
{
	api_device_free(&m->self);
	api_device_list_free(&m->mesh);
	api_relays_wipe(&m->relays);
	free(m->relay.paths);
	keyindex_release(&m->relay_ix);
	memset(m, 0, sizeof(*m));
}

/* A deep copy of a device record; -ENOMEM leaves *out empty. */
static int device_copy(struct api_device *out, const struct api_device *d)
{
	*out = *d;
	out->endpoints = NULL;
	out->advertise_cidrs = NULL;
	out->approved_cidrs = NULL;
	if (d->n_endpoints) {
		out->endpoints = malloc(d->n_endpoints * sizeof(*d->endpoints));
		if (!out->endpoints)
			goto fail;
		memcpy(out->endpoints, d->endpoints, d->n_endpoints * sizeof(*d->endpoints));
	}
	if (d->n_advertise_cidrs) {
		out->advertise_cidrs = malloc(d->n_advertise_cidrs * sizeof(*d->advertise_cidrs));
		if (!out->advertise_cidrs)
			goto fail;
		memcpy(out->advertise_cidrs, d->advertise_cidrs, d->n_advertise_cidrs * sizeof(*d->advertise_cidrs));
	}
	if (d->n_approved_cidrs) {
		out->approved_cidrs = malloc(d->n_approved_cidrs * sizeof(*d->approved_cidrs));
		if (!out->approved_cidrs)
			goto fail;
		memcpy(out->approved_cidrs, d->approved_cidrs, d->n_approved_cidrs * sizeof(*d->approved_cidrs));
	}
	return 0;
fail:
	free(out->endpoints);
	free(out->advertise_cidrs);
	memset(out, 0, sizeof(*out));
	return -ENOMEM;
}

/* Our record, from a list or a watch event. */
static unsigned keep_self(struct mesh_model *m, const struct api_device *d)
{
	struct api_device copy;

	if (device_copy(&copy, d))
		return 0;
	api_device_free(&m->self);
	m->self = copy;
	return MODEL_SELF;
}

unsigned model_set_registered(struct mesh_model *m, struct api_device *self)
{
	api_device_free(&m->self);
	m->self = *self;
	memset(self, 0, sizeof(*self));
	m->registered = true;
	return MODEL_REGISTERED | MODEL_SELF;
}

static bool cidr_same(bool has_a, const struct cidr *a, bool has_b, const struct cidr *b)
{
	return has_a == has_b && (!has_a || cidr_equal(a, b));
}

unsigned model_set_org(struct mesh_model *m, const struct ev_org *o)
{
	unsigned changed = 0;

	if (!cidr_same(m->has_org, &m->prefix, true, &o->prefix) ||
	    !cidr_same(m->has_prefix6, &m->prefix6, o->has_prefix6, &o->prefix6))
		changed = MODEL_ORG;
	m->has_org = true;
	m->prefix = o->prefix;
	m->has_prefix6 = o->has_prefix6;
	m->prefix6 = o->has_prefix6 ? o->prefix6 : (struct cidr){ 0 };
	return changed;
}

unsigned model_apply_list(struct mesh_model *m, struct api_device_list *l)
{
	unsigned changed = MODEL_MESH;

	api_device_list_free(&m->mesh);
	m->mesh = *l;
	memset(l, 0, sizeof(*l));
	m->listed = true;
	for (size_t i = 0; i < m->mesh.n_devices; i++)
		if (m->registered && !strcmp(m->mesh.devices[i].id, m->self.id))
			changed |= keep_self(m, &m->mesh.devices[i]);
	return changed;
}

/* The devices by id, for a watch answer: one lookup per event (issue 15). */
static void id_index(struct keyindex *ix, const struct api_device_list *l)
{
	keyindex_init(ix, sizeof(*l->devices), offsetof(struct api_device, id), KEYINDEX_STRING);
	(void)keyindex_build(ix, l->devices, l->n_devices); /* short of memory it scans */
}

unsigned model_apply_watch(struct mesh_model *m, struct api_watch *w)
{
	unsigned changed = 0;
	struct keyindex ix;

	id_index(&ix, &m->mesh);
	for (size_t i = 0; i < w->n_events; i++) {
		struct api_watch_event *e = &w->events[i];
		struct api_device_list *l = &m->mesh;
		size_t j;
		bool self = m->registered && !strcmp(e->device.id, m->self.id), added = false;

		if (!keyindex_find(&ix, e->device.id, &j))
			j = l->n_devices;
		changed |= MODEL_MESH;
		if (e->type == API_WATCH_DELETE) {
			if (self)
				changed |= MODEL_SELF_DELETED;
			if (j < l->n_devices) {
				keyindex_swap_remove(&ix, j);
				api_device_free(&l->devices[j]);
				l->devices[j] = l->devices[l->n_devices - 1];
				memset(&l->devices[l->n_devices - 1], 0, sizeof(l->devices[0]));
				l->n_devices--;
			}
			continue;
		}
		if (j == l->n_devices) {
			struct api_device *grown = realloc(l->devices, (l->n_devices + 1) * sizeof(*grown));

			if (!grown)
				continue; /* the next relist brings it */
			l->devices = grown;
			keyindex_rebase(&ix, l->devices);
			memset(&l->devices[j], 0, sizeof(l->devices[0]));
			l->n_devices++;
			added = true;
		}
		api_device_free(&l->devices[j]);
		l->devices[j] = e->device;
		memset(&e->device, 0, sizeof(e->device));
		if (added)
			keyindex_append(&ix);
		if (self)
			changed |= keep_self(m, &l->devices[j]);
	}
	keyindex_release(&ix);
	m->mesh.revision = w->revision;
	return changed;
}

bool model_endpoints_equal(const struct api_endpoint *x, size_t nx, const struct api_endpoint *y, size_t ny)
{
	if (nx != ny)
		return false;
	for (size_t i = 0; i < nx; i++)
		if (x[i].source != y[i].source || !addr_endpoint_equal(&x[i].addr, &y[i].addr))
			return false;
	return true;
}

unsigned model_set_endpoints(struct mesh_model *m, const struct ev_endpoints *e)
{
	unsigned changed = 0;
	size_t n = e->n < EV_MAX_ENDPOINTS ? e->n : EV_MAX_ENDPOINTS;

	if (!m->endpoints_known || !model_endpoints_equal(e->eps, n, m->eps, m->n_eps))
		changed |= MODEL_ENDPOINTS;
	if (e->has_reflexive != m->mesh_self.has_reflexive ||
	    (e->has_reflexive && !addr_endpoint_equal(&e->reflexive, &m->mesh_self.reflexive_ep)))
		changed |= MODEL_REFLEXIVE;
	memcpy(m->eps, e->eps, n * sizeof(e->eps[0]));
	m->n_eps = n;
	m->mesh_self.has_reflexive = e->has_reflexive;
	m->mesh_self.reflexive_ep = e->has_reflexive ? e->reflexive : (union sockaddr_any){ 0 };
	m->endpoints_known = true;
	return changed;
}

unsigned model_set_oob(struct mesh_model *m, const struct oob *o)
{
	unsigned changed = !m->oob_known || !oob_equal(o, &m->oob) ? MODEL_OOB : 0;

	m->oob = *o;
	m->oob_known = true;
	return changed;
}

unsigned model_set_api_state(struct mesh_model *m, bool connected, const char *text)
{
	unsigned changed = m->api_connected != connected || strcmp(m->api_state, text) ? MODEL_API : 0;

	m->api_connected = connected;
	snprintf(m->api_state, sizeof(m->api_state), "%s", text);
	return changed;
}

const struct api_device *model_find(const struct mesh_model *m, const uint8_t key[32])
{
	for (size_t i = 0; i < m->mesh.n_devices; i++)
		if (!memcmp(m->mesh.devices[i].public_key, key, 32))
			return &m->mesh.devices[i];
	return NULL;
}

unsigned model_set_relays(struct mesh_model *m, struct api_relays *r)
{
	unsigned changed = memcmp(&m->relays, r, sizeof(*r)) ? MODEL_RELAYS : 0;

	api_relays_wipe(&m->relays);
	m->relays = *r;
	explicit_bzero(r, sizeof(*r));
	return changed;
}

unsigned model_set_relay(struct mesh_model *m, struct ev_relay *r)
{
	unsigned changed = MODEL_RELAY;

	if (m->relay.allocated == r->allocated && addr_endpoint_equal(&m->relay.relayed, &r->relayed) &&
	    !strcmp(m->relay.status, r->status) && m->relay.n == r->n &&
	    (!r->n || !memcmp(m->relay.paths, r->paths, r->n * sizeof(r->paths[0]))))
		changed = 0;
	free(m->relay.paths);
	m->relay = *r;
	r->paths = NULL;
	r->n = 0;
	(void)keyindex_build(&m->relay_ix, m->relay.paths, m->relay.n); /* short of memory it scans */
	return changed;
}

const union sockaddr_any *model_relay_path(const struct mesh_model *m, const uint8_t key[32])
{
	size_t i;

	if (!m->relay.allocated || !keyindex_find(&m->relay_ix, key, &i))
		return NULL;
	return &m->relay.paths[i].local;
}

const union sockaddr_any *model_relay_endpoint(const struct api_device *d)
{
	for (size_t i = 0; i < d->n_endpoints; i++)
		if (d->endpoints[i].source == API_ENDPOINT_RELAY)
			return &d->endpoints[i].addr;
	return NULL;
}

size_t model_our_endpoints(const struct mesh_model *m, struct api_endpoint out[EV_MAX_ENDPOINTS + 1])
{
	size_t n = m->n_eps;

	memcpy(out, m->eps, n * sizeof(out[0]));
	if (m->relay.allocated) {
		out[n].source = API_ENDPOINT_RELAY;
		out[n].addr = m->relay.relayed;
		n++;
	}
	return n;
}
