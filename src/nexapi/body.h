/* Request bodies: each parser takes the raw bytes and either fills a plain
 * struct with validated values or returns -EINVAL with a reason. Pure
 * functions (no store, no server), so that they can be fuzzed alone. */
#ifndef NEXAPI_BODY_H
#define NEXAPI_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/key.h"
#include "nexapi/jsonv.h"
#include "nexapi/store.h"

#define BODY_MAX_ENDPOINTS 16
#define BODY_MAX_CIDRS 64
#define BODY_MAX_EXPIRES_IN 31536000
#define BODY_DEFAULT_EXPIRES_IN 86400    /* a registration key's lifetime unless asked otherwise */
#define BODY_PROOF_MAX 64                /* characters of proof.nonce and proof.mac */

struct body_org {
	char name[STORE_NAME_MAX + 1];
	char prefix[ADDR_CIDR_STRLEN];   /* "" when absent */
	char prefix6[ADDR_CIDR_STRLEN];  /* canonical IPv6 /64; "" when absent or null */
	bool approval_auto;              /* exit_node_approval "auto"; default "admin" */
};

/* PATCH of an organization: {"exit_node_approval": "auto"|"admin"}. */
struct body_org_patch {
	bool approval_auto;
};

struct body_token {
	char organization[STORE_NAME_MAX + 1];
	int64_t expires_in;                       /* 0: never (absent or null) */
};

struct body_regkey {
	char organization[STORE_NAME_MAX + 1];   /* "" when absent */
	bool single_use;                          /* default true */
	bool auto_approve;
	int64_t expires_in;                       /* default BODY_DEFAULT_EXPIRES_IN; 0: never (null) */
};

struct body_endpoint {
	char source[6];                           /* "local", "stun" or "relay" */
	char address[ADDR_ENDPOINT_STRLEN];
};

/* Registration and update bodies. `fields` holds the enum device_field
 * bits of what was given. */
struct body_device {
	unsigned fields;
	char public_key[KEY_B64_LEN + 1];
	char hostname[STORE_HOSTNAME_MAX + 1];
	char os[STORE_SHORT_MAX + 1];
	char version[STORE_SHORT_MAX + 1];
	struct body_endpoint endpoints[BODY_MAX_ENDPOINTS];
	size_t n_endpoints;
	char cidrs[BODY_MAX_CIDRS][ADDR_CIDR_STRLEN];
	size_t n_cidrs;
	bool exit_node_client;
	char exit_node_status[STORE_STATUS_MAX + 1];
	/* registration only: "proof": {"nonce": B64, "mac": B64} (checked later) */
	bool has_proof;
	char proof_nonce[BODY_PROOF_MAX + 1];
	char proof_mac[BODY_PROOF_MAX + 1];
};

/* Approve / unapprove: {"cidrs": [...]} (canonical CIDRs, at most
 * BODY_MAX_CIDRS, no duplicates); an empty body, {} or no "cidrs": all. */
struct body_approve {
	bool all;
	char cidrs[BODY_MAX_CIDRS][ADDR_CIDR_STRLEN];
	size_t n_cidrs;
};

int body_parse_org(const char *buf, size_t len, struct body_org *out, struct jsonv_err *e);
int body_parse_org_patch(const char *buf, size_t len, struct body_org_patch *out, struct jsonv_err *e);
int body_parse_token(const char *buf, size_t len, struct body_token *out, struct jsonv_err *e);
int body_parse_regkey(const char *buf, size_t len, struct body_regkey *out, struct jsonv_err *e);
int body_parse_register(const char *buf, size_t len, struct body_device *out, struct jsonv_err *e);
int body_parse_patch(const char *buf, size_t len, struct body_device *out, struct jsonv_err *e);
int body_parse_approve(const char *buf, size_t len, struct body_approve *out, struct jsonv_err *e);

/* The endpoints and CIDRs of a parsed body as compact JSON arrays
 * (malloc'd); NULL on allocation failure. */
char *body_endpoints_json(const struct body_device *d);
char *body_cidrs_json(const struct body_device *d);
/* The prefixes of an approve body as a JSON array; NULL for "all" (and
 * on allocation failure: check b->all). */
char *body_approve_json(const struct body_approve *b);

#endif
