/* nftables through libnftables (never by running nft): apply a script in one
 * transaction, test and delete tables, and find other tables' forward chains
 * whose policy would drop what an exit node forwards.
 *
 * Contexts: every call creates its own nft_ctx and frees it before
 * returning, so no state is kept between calls. libnftables contexts are not
 * thread-safe, and older libnftables versions keep some global state, so
 * these functions are meant to be called from one thread (nexd's main loop),
 * never from two threads at once. Nothing is printed: libnftables' output
 * and error streams are buffered and the error text is handed back. */
#ifndef NEXD_NFT_H
#define NEXD_NFT_H

#include <stdbool.h>
#include <stddef.h>

enum nft_limits {
	NFT_NAME_MAX = 255,              /* characters of a table or chain name */
	NFT_LIST_MAX = 4 * 1024 * 1024,  /* bytes of a JSON listing we parse */
	NFT_CHAINS_MAX = 4096,           /* objects (tables, chains) looked at in one listing */
};

/* Runs `script` as one transaction (all of it or none of it). 0, or -EINVAL
 * (NULL script), -ENOMEM (no context), -EIO (nft refused it). On -EIO, err
 * (when given; errlen 0 allowed) holds nft's message on one line: its first
 * line and the script line it quotes, as "Error: ... (in: <line>)",
 * truncated to errlen. */
int nft_apply(const char *script, char *err, size_t errlen);

/* family: "ip", "ip6", "inet", "arp", "bridge" or "netdev"; name: an nft
 * identifier ([A-Za-z_][A-Za-z0-9_.-]*, at most NFT_NAME_MAX). */

/* 1 if the table exists, 0 if not, -EINVAL (bad family or name), -EIO. */
int nft_table_exists(const char *family, const char *name);

/* Deletes the table; an absent table is not an error. 0, -EINVAL, -EIO. */
int nft_table_delete(const char *family, const char *name);

/* A base chain of another table. */
struct nft_chain_ref {
	char family[8];
	char table[NFT_NAME_MAX + 1];
	char chain[NFT_NAME_MAX + 1];
};

/* What in other tables may drop the traffic an exit node forwards between
 * its interfaces ifs (the mesh interface and the uplink): a base chain of
 * the ip, ip6 or inet family on hook forward with policy drop (as Docker,
 * ufw and firewalld install them, also through iptables-nft;
 * iptables-legacy rules are not visible to nftables), or a rule in such a
 * chain with verdict drop or reject whose only matches are on interface
 * names that ifs can satisfy (an unconditional drop, or one aimed at these
 * interfaces). A rule matching anything else (addresses, ports, ct state)
 * is the host's own policy and not judged. */
struct nft_drop {
	struct nft_chain_ref chain;
	bool rule;                       /* a rule in it; false: its policy */
};

/* Reads `list ruleset` as JSON (at most NFT_LIST_MAX bytes and
 * NFT_CHAINS_MAX objects parsed), skipping the table
 * skip_family/skip_table (both NULL: none). Fills at most cap entries of
 * out, sets *n to the number found (may exceed cap). 0, or -EINVAL,
 * -ENOMEM, -EIO (listing failed), -EBADMSG (unparsable listing), -E2BIG
 * (listing larger than NFT_LIST_MAX). */
int nft_forward_drops(const char *skip_family, const char *skip_table, const char *const *ifs, size_t n_ifs,
		      struct nft_drop *out, size_t cap, size_t *n);
/* The same on a listing given as JSON text (for tests). */
int nft_forward_drops_parse(const char *json_text, size_t len, const char *skip_family, const char *skip_table,
			    const char *const *ifs, size_t n_ifs, struct nft_drop *out, size_t cap, size_t *n);

/* "table ip filter, chain FORWARD has policy drop" (or "... has a rule that
 * drops it") into buf. */
void nft_drop_format(const struct nft_drop *d, char *buf, size_t len);

#endif
