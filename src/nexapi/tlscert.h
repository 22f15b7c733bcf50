/* The server's certificate and key, replaceable while it runs (SIGHUP):
 * libmicrohttpd asks for them at every TLS handshake (GnuTLS's retrieve
 * function). A pair that does not load, or whose key does not match its
 * certificate, is refused and the one in use stays. */
#ifndef NEXAPI_TLSCERT_H
#define NEXAPI_TLSCERT_H

#include <stddef.h>

/* Loads a PEM chain and key and makes them current. 0, or -EINVAL with
 * err saying why (nothing changed). */
int tlscert_load(const char *cert_pem, const char *key_pem, char *err, size_t errlen);
/* libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK (a
 * gnutls_certificate_retrieve_function2). */
void *tlscert_callback(void);
/* Frees every pair loaded (at exit, once the server has stopped). */
void tlscert_free_all(void);

#endif
