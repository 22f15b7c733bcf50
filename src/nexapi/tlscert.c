#include "nexapi/tlscert.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_MAX 8

struct pair {
	gnutls_pcert_st pcert[CHAIN_MAX];
	unsigned n;
	gnutls_privkey_t key;
	struct pair *older;   /* kept: a handshake in flight may still use it */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pair *current;

static void pair_free(struct pair *p)
{
	for (unsigned i = 0; i < p->n; i++)
		gnutls_pcert_deinit(&p->pcert[i]);
	if (p->key)
		gnutls_privkey_deinit(p->key);
	free(p);
}

int tlscert_load(const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
	gnutls_datum_t cert = { (unsigned char *)cert_pem, (unsigned)strlen(cert_pem) };
	gnutls_datum_t key = { (unsigned char *)key_pem, (unsigned)strlen(key_pem) };
	gnutls_certificate_credentials_t check;
	struct pair *p;
	int r;

	/* the key must match the certificate: GnuTLS checks it here */
	if (gnutls_certificate_allocate_credentials(&check) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = gnutls_certificate_set_x509_key_mem2(check, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(check);
	if (r < 0) {
		snprintf(err, errlen, "%s", gnutls_strerror(r));
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->n = CHAIN_MAX;
	r = gnutls_pcert_list_import_x509_raw(p->pcert, &p->n, &cert, GNUTLS_X509_FMT_PEM, 0);
	if (r < 0) {
		p->n = 0;
		goto fail;
	}
	if ((r = gnutls_privkey_init(&p->key)) < 0)
		goto fail;
	if ((r = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		goto fail;
	pthread_mutex_lock(&lock);
	p->older = current;
	current = p;
	pthread_mutex_unlock(&lock);
	return 0;

fail:
	snprintf(err, errlen, "%s", gnutls_strerror(r));
	pair_free(p);
	return -EINVAL;
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
		    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
		    unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	int r = -1;

	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	pthread_mutex_lock(&lock);
	if (current) {
		*pcert = current->pcert;
		*pcert_length = current->n;
		*privkey = current->key;
		r = 0;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void *tlscert_callback(void)
{
	return (void *)(gnutls_certificate_retrieve_function2 *)retrieve;
}

void tlscert_free_all(void)
{
	pthread_mutex_lock(&lock);
	while (current) {
		struct pair *older = current->older;

		pair_free(current);
		current = older;
	}
	pthread_mutex_unlock(&lock);
}
