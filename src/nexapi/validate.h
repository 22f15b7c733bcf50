/* Syntax checks for the values the API accepts. Pure functions: 0 or
 * -EINVAL. */
#ifndef NEXAPI_VALIDATE_H
#define NEXAPI_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"

/* [a-z0-9][a-z0-9-]{0,62}, and not of an id's form (a uuid): -EINVAL,
 * -EEXIST (looks like an id). */
int validate_org_name(const char *s);
/* 1..253 bytes of [A-Za-z0-9._-] */
int validate_hostname(const char *s);
/* Printable ASCII (0x20..0x7e) only. */
int validate_printable(const char *s);
/* Organization prefix: IPv4, /8../30, host bits zero. */
int validate_org_prefix(const char *s);
/* Organization IPv6 prefix: IPv6, exactly /64, host bits zero; out: its
 * canonical text. */
int validate_org_prefix6(const char *s, char out[ADDR_CIDR_STRLEN]);
/* Any CIDR; out: its normalized text. */
int validate_cidr(const char *s, char out[ADDR_CIDR_STRLEN]);
/* A canonical CIDR (no host bits set): 0, -EINVAL when it is not a CIDR,
 * -ERANGE when host bits are set. out: its normalized text (also with
 * -ERANGE, for the message). */
int validate_cidr_canonical(const char *s, char out[ADDR_CIDR_STRLEN]);
/* Does an advertised prefix overlap the organization's mesh prefix `mesh`
 * (prefix or prefix6)? True when both are of one family, the advertised
 * one is longer than /0, and one contains the other. False for anything
 * unparsable. */
bool validate_overlaps(const char *advertised, const char *mesh);
/* A WireGuard public key in base64, not all zero. */
int validate_public_key(const char *s);
/* "ip:port" or "[ip]:port", numeric, port not 0, no scope, an address a
 * peer can send to (not unspecified, loopback, multicast or broadcast,
 * also as IPv4-mapped IPv6); out: canonical text. -EINVAL (text) or
 * -EADDRNOTAVAIL (address), *why says which. */
int validate_endpoint(const char *s, char out[ADDR_ENDPOINT_STRLEN], const char **why);
/* A uuid in lowercase text form (36 characters). */
int validate_uuid(const char *s);
/* 16 lowercase hex digits (token and key ids). */
int validate_token_id(const char *s);

#endif
