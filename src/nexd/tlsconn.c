#include "nexd/tlsconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"

struct tlsconn {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
};

void tlsconn_close(struct tlsconn *t)
{
	if (!t)
		return;
	if (t->ssl) {
		SSL_shutdown(t->ssl); /* a close_notify, not waiting for the answer */
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	free(t);
}

/* Waits for what OpenSSL wants (read or write) until the deadline. */
static int wait_for(struct tlsconn *t, int want, int stop_fd, uint64_t deadline)
{
	struct pollfd p[2] = { { .fd = t->fd, .events = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN },
			       { .fd = stop_fd, .events = POLLIN } };
	uint64_t now = time_now_ns();

	if (now >= deadline)
		return -ETIMEDOUT;
	if (poll(p, stop_fd >= 0 ? 2 : 1, (int)((deadline - now) / NSEC_PER_MSEC) + 1) < 0 && errno != EINTR)
		return -errno;
	if (stop_fd >= 0 && (p[1].revents & POLLIN))
		return -ECANCELED;
	return 0;
}

int tlsconn_open(struct tlsconn **out, int fd, const char *host, const char *ca_file, int stop_fd,
		 unsigned timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = time_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	struct tlsconn *t = calloc(1, sizeof(*t));
	unsigned char ip[16];
	bool is_ip;
	int r;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->fd = fd;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx)
		goto err_ssl;
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(t->ctx) != 1)
		goto err_ssl;
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1)
		goto err_ssl;
	is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1)
			goto err_ssl;
	} else if (SSL_set1_host(t->ssl, host) != 1 || SSL_set_tlsext_host_name(t->ssl, host) != 1) {
		goto err_ssl;
	}
	while ((r = SSL_connect(t->ssl)) != 1) {
		int e = SSL_get_error(t->ssl, r);

		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			long v = SSL_get_verify_result(t->ssl);

			if (v != X509_V_OK) {
				snprintf(err, errlen, "the relay's certificate is not trusted: %s",
					 X509_verify_cert_error_string(v));
				tlsconn_close(t);
				return -EKEYREJECTED;
			}
			goto err_ssl;
		}
		r = wait_for(t, e, stop_fd, deadline);
		if (r) {
			snprintf(err, errlen, "TLS handshake: %s", strerror(-r));
			tlsconn_close(t);
			return r;
		}
	}
	*out = t;
	return 0;

err_ssl:
	snprintf(err, errlen, "TLS: %s", ERR_reason_error_string(ERR_peek_last_error())
					     ? ERR_reason_error_string(ERR_peek_last_error())
					     : "failed");
	ERR_clear_error();
	tlsconn_close(t);
	return -EPROTO;
}

ssize_t tlsconn_read(struct tlsconn *t, void *buf, size_t len)
{
	int n = SSL_read(t->ssl, buf, (int)(len > 65536 ? 65536 : len));

	if (n > 0)
		return n;
	switch (SSL_get_error(t->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -EIO;
	}
}

int tlsconn_write_all(struct tlsconn *t, const void *buf, size_t len, unsigned timeout_ms)
{
	uint64_t deadline = time_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	const unsigned char *p = buf;

	while (len) {
		int n = SSL_write(t->ssl, p, (int)len), e, r;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		e = SSL_get_error(t->ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return -EIO;
		}
		r = wait_for(t, e, -1, deadline);
		if (r)
			return r;
	}
	return 0;
}
