/* The schema both stores share (store_schema.c) and the column lists their
 * queries read rows with. */
#ifndef NEXAPI_STORE_SCHEMA_H
#define NEXAPI_STORE_SCHEMA_H

#include <stddef.h>

/* CREATE TABLE / CREATE INDEX ... IF NOT EXISTS, in order. */
extern const char *const store_tables[];
extern const size_t store_tables_n;

/* The device columns in the order read_device expects (the organization's
 * prefix6 last: tunnel_ip6 is derived from it, not stored). */
#define STORE_DEVICE_COLS \
	"d.id, d.org_id, o.name, d.hostname, d.public_key, d.tunnel_ip, d.endpoints, " \
	"d.advertise_cidrs, d.exit_node_client, d.exit_node_status, d.os, d.version, " \
	"d.last_seen, d.revision, d.created_at, o.prefix6, d.approved_cidrs, d.auto_approve"

#define STORE_ORG_COLS "id, name, prefix, created_at, prefix6, exit_node_approval"

#endif
