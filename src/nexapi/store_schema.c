/* The tables of both stores (SQLite and PostgreSQL): only types and
 * constraints that both have (TEXT, BIGINT, INTEGER 0/1 for booleans,
 * UNIQUE, REFERENCES). A fresh database gets them as they are now; each
 * backend upgrades older databases its own way (store_sqlite.c:
 * added_columns; store_pg.c: migrations). */
#include "nexapi/store_schema.h"

const char *const store_tables[] = {
	"CREATE TABLE IF NOT EXISTS meta ("
	" key TEXT PRIMARY KEY,"
	" value BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS organizations ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" prefix TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" prefix6 TEXT,"
	" exit_node_approval TEXT NOT NULL DEFAULT 'admin')",
	"CREATE TABLE IF NOT EXISTS devices ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES organizations(id),"
	" hostname TEXT NOT NULL,"
	" public_key TEXT NOT NULL,"
	" tunnel_ip TEXT NOT NULL,"
	" tunnel_ip_num BIGINT NOT NULL,"
	" endpoints TEXT NOT NULL,"
	" advertise_cidrs TEXT NOT NULL,"
	" exit_node_client INTEGER NOT NULL,"
	" exit_node_status TEXT NOT NULL,"
	" os TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" last_seen BIGINT,"
	" revision BIGINT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" approved_cidrs TEXT NOT NULL DEFAULT '[]',"
	" auto_approve INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (org_id, public_key),"
	" UNIQUE (org_id, tunnel_ip_num))",
	"CREATE TABLE IF NOT EXISTS tokens ("
	" id TEXT PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" org_id TEXT REFERENCES organizations(id),"
	" device_id TEXT REFERENCES devices(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" expires_at BIGINT)",
	"CREATE INDEX IF NOT EXISTS tokens_device ON tokens (device_id)",
	"CREATE INDEX IF NOT EXISTS tokens_org ON tokens (org_id)",
	"CREATE TABLE IF NOT EXISTS reg_keys ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES organizations(id),"
	" hash TEXT NOT NULL,"
	" single_use INTEGER NOT NULL,"
	" expires_at BIGINT,"
	" used INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" auto_approve INTEGER NOT NULL DEFAULT 0,"
	" used_by_public_key TEXT,"
	" used_at BIGINT)",
	"CREATE INDEX IF NOT EXISTS reg_keys_org ON reg_keys (org_id)",
	"CREATE TABLE IF NOT EXISTS events ("
	" revision BIGINT PRIMARY KEY,"
	" org_id TEXT NOT NULL,"
	" type INTEGER NOT NULL,"
	" device_id TEXT NOT NULL,"
	" hostname TEXT NOT NULL,"
	" public_key TEXT NOT NULL,"
	" tunnel_ip TEXT NOT NULL,"
	" endpoints TEXT NOT NULL,"
	" advertise_cidrs TEXT NOT NULL,"
	" exit_node_client INTEGER NOT NULL,"
	" exit_node_status TEXT NOT NULL,"
	" os TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" last_seen BIGINT,"
	" created_at BIGINT NOT NULL,"
	" approved_cidrs TEXT NOT NULL DEFAULT '[]')",
	"CREATE INDEX IF NOT EXISTS events_org ON events (org_id, revision)",
	"CREATE TABLE IF NOT EXISTS deleted_devices ("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL REFERENCES organizations(id),"
	" deleted_at BIGINT NOT NULL)",
	"CREATE INDEX IF NOT EXISTS deleted_devices_at ON deleted_devices (deleted_at)",
	"CREATE TABLE IF NOT EXISTS deleted_device_tokens ("
	" id TEXT PRIMARY KEY,"
	" device_id TEXT NOT NULL REFERENCES deleted_devices(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL,"
	" created_at BIGINT NOT NULL)",
	"CREATE INDEX IF NOT EXISTS deleted_device_tokens_device ON deleted_device_tokens (device_id)",
	"CREATE TABLE IF NOT EXISTS server_keys ("
	" name TEXT PRIMARY KEY,"
	" private_key TEXT NOT NULL,"
	" public_key TEXT NOT NULL,"
	" created_at BIGINT NOT NULL)",
	/* watch history is kept per organization: the revision up to which
	 * an organization's events were dropped ('pruned' in meta: the floor
	 * of every organization, from before this table) */
	"CREATE TABLE IF NOT EXISTS history_pruned (org_id TEXT PRIMARY KEY, revision BIGINT NOT NULL)",
	/* the admin token minted at first start whose file is not known to be
	 * written yet (a crash in between: the next start replaces it) */
	"CREATE TABLE IF NOT EXISTS admin_pending (id TEXT PRIMARY KEY)",
};

const size_t store_tables_n = sizeof(store_tables) / sizeof(store_tables[0]);
