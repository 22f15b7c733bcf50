/* Which advertised prefixes of a device the organization honours
 * (approved_cidrs, issue #14). Both lists are kept as JSON array texts of
 * canonical CIDRs (as body_cidrs_json writes them); these pure functions
 * compute the new approved list, always a subset of the advertised one and
 * in its order, without duplicates. Results are malloc'd JSON texts.
 * Errors: -EIO for a list that is not a JSON array of strings, -ENOMEM. */
#ifndef NEXAPI_APPROVAL_H
#define NEXAPI_APPROVAL_H

#include <stdbool.h>

#include "common/addr.h"

/* After a change of advertised: everything advertised when automatic,
 * else what stays advertised of approved. */
int approval_follow(const char *approved, const char *advertised, bool automatic, char **out);

/* approved ∪ given (given NULL: everything advertised). Each given prefix
 * must be advertised: else -EINVAL with the first one that is not in bad. */
int approval_add(const char *approved, const char *advertised, const char *given,
		 char bad[ADDR_CIDR_STRLEN], char **out);

/* approved − given (given NULL: everything). Prefixes given that are not
 * approved are ignored. */
int approval_remove(const char *approved, const char *advertised, const char *given, char **out);

#endif
