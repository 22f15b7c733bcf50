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

/* The base chains hooked on `forward` with `policy drop` in the ip, ip6 and
 * inet tables other than skip_family/skip_table (both NULL: skip none), as
 * Docker and firewalld install them (through iptables-nft; iptables-legacy
 * rules are not visible to nftables). A drop rule inside an accept-policy
 * chain is not looked for. Reads `list chains` as JSON: at most NFT_LIST_MAX
 * bytes and NFT_CHAINS_MAX objects are parsed (the limit bounds our parsing;
 * libnftables builds the listing itself). Fills at most cap entries of out,
 * sets *n to the number found (may exceed cap). 0, or -EINVAL, -ENOMEM,
 * -EIO (listing failed), -EBADMSG (unparsable listing), -E2BIG (listing
 * larger than NFT_LIST_MAX). */
int nft_forward_drop_chains(const char *skip_family, const char *skip_table,
			    struct nft_chain_ref *out, size_t cap, size_t *n);

/* "table ip filter, chain FORWARD" into buf. */
void nft_chain_ref_format(const struct nft_chain_ref *c, char *buf, size_t len);

#endif
