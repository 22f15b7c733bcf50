/* A TLS client stream over a connected, non-blocking TCP socket (OpenSSL's
 * libssl), for the relay's turns: servers: the server's certificate is
 * checked against --ca-cert (else the system's CAs) and the name or address
 * the URI gives. Reads and writes never block longer than they are told. */
#ifndef NEXD_TLSCONN_H
#define NEXD_TLSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tlsconn;

/* The handshake, within timeout_ms, or until stop_fd turns readable. 0, or
 * -errno with a sentence in err (-EKEYREJECTED: the certificate). fd stays
 * the caller's. */
int tlsconn_open(struct tlsconn **out, int fd, const char *host, const char *ca_file, int stop_fd,
		 unsigned timeout_ms, char *err, size_t errlen);
/* Bytes read (> 0), 0 when the server closed, -EAGAIN when nothing is
 * there now, or -errno. */
ssize_t tlsconn_read(struct tlsconn *t, void *buf, size_t len);
/* All of buf, waiting up to timeout_ms for room. 0 or -errno. */
int tlsconn_write_all(struct tlsconn *t, const void *buf, size_t len, unsigned timeout_ms);
/* Closes the TLS session (not the socket) and frees; NULL is fine. */
void tlsconn_close(struct tlsconn *t);

#endif
