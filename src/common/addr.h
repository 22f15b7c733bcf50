/* IP endpoints ("192.0.2.1:51820", "[2001:db8::1]:51820") and prefixes
 * ("100.100.0.0/16", "::/0"), numeric only, strictly parsed. */
#ifndef COMMON_ADDR_H
#define COMMON_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* Longest text of an endpoint: "[" v6 "%" scope "]:" port. */
#define ADDR_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 16 + 8)
#define ADDR_CIDR_STRLEN (INET6_ADDRSTRLEN + 5)

int addr_endpoint_parse(const char *s, union sockaddr_any *out);   /* 0 or -EINVAL */
/* Same, on exactly len characters. */
int addr_endpoint_parse_n(const char *s, size_t len, union sockaddr_any *out);
/* Writes "ip:port" or "[ip]:port"; a v4-mapped v6 address is shown as v4. */
void addr_endpoint_format(const union sockaddr_any *a, char out[ADDR_ENDPOINT_STRLEN]);
socklen_t addr_len(const union sockaddr_any *a);
bool addr_endpoint_equal(const union sockaddr_any *a, const union sockaddr_any *b);
/* Converts a v4-mapped AF_INET6 address to AF_INET in place. */
void addr_unmap(union sockaddr_any *a);

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network byte order; first 4 bytes for AF_INET */
	uint8_t prefix;      /* 0..32 or 0..128 */
};

/* "a.b.c.d/n", "x::y/n"; without "/n" a host prefix. Host bits may be set
 * (as wg allows); cidr_normalize clears them. */
int cidr_parse(const char *s, struct cidr *out);
int cidr_parse_n(const char *s, size_t len, struct cidr *out);
void cidr_format(const struct cidr *c, char out[ADDR_CIDR_STRLEN]);
void cidr_normalize(struct cidr *c);
bool cidr_contains(const struct cidr *net, int family, const void *addr);
bool cidr_equal(const struct cidr *a, const struct cidr *b);

/* An IP address alone ("192.0.2.1", "2001:db8::1"). */
int addr_ip_parse(const char *s, int *family, uint8_t addr[16]);

#endif
