#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "peertab.h"

#define INITIAL_BUCKETS 1024

static size_t bucket_of(const struct ptcp_rdvd_peertab *t, const uint8_t *key, size_t nbuckets)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, PTCP_RDV_KEY_LEN, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & (nbuckets - 1);
}

int ptcp_rdvd_peertab_init(struct ptcp_rdvd_peertab *t)
{
	memset(t, 0, sizeof(*t));
	if (sodium_init() < 0)
		return -EIO;
	t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = INITIAL_BUCKETS;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	return 0;
}

void ptcp_rdvd_peertab_free(struct ptcp_rdvd_peertab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
}

struct ptcp_rdvd_peer_node *ptcp_rdvd_peertab_find(const struct ptcp_rdvd_peertab *t,
                                                   const uint8_t key[PTCP_RDV_KEY_LEN])
{
	struct ptcp_rdvd_peer_node *n = t->buckets[bucket_of(t, key, t->nbuckets)];

	for (; n; n = n->next)
		if (memcmp(n->key, key, PTCP_RDV_KEY_LEN) == 0)
			return n;
	return NULL;
}

struct ptcp_rdvd_peer_node *ptcp_rdvd_peertab_next(const struct ptcp_rdvd_peertab *t,
                                                   const struct ptcp_rdvd_peer_node *n)
{
	struct ptcp_rdvd_peer_node *m = n->next;

	(void)t;   /* a chain holds one bucket's nodes: n's key is in n's */
	for (; m; m = m->next)
		if (memcmp(m->key, n->key, PTCP_RDV_KEY_LEN) == 0)
			return m;
	return NULL;
}

/* Doubles the bucket array and rehashes every node into it. */
static void grow(struct ptcp_rdvd_peertab *t)
{
	size_t nb = t->nbuckets * 2;
	struct ptcp_rdvd_peer_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct ptcp_rdvd_peer_node *n = t->buckets[i], *next;

		for (; n; n = next) {
			size_t k = bucket_of(t, n->key, nb);

			next = n->next;
			n->next = b[k];
			b[k] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

void ptcp_rdvd_peertab_insert(struct ptcp_rdvd_peertab *t, struct ptcp_rdvd_peer_node *n)
{
	size_t k;

	if (t->count >= t->nbuckets)
		grow(t);
	k = bucket_of(t, n->key, t->nbuckets);
	n->next = t->buckets[k];
	t->buckets[k] = n;
	t->count++;
}

void ptcp_rdvd_peertab_remove(struct ptcp_rdvd_peertab *t, struct ptcp_rdvd_peer_node *n)
{
	struct ptcp_rdvd_peer_node **p = &t->buckets[bucket_of(t, n->key, t->nbuckets)];

	for (; *p; p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			n->next = NULL;
			t->count--;
			return;
		}
	}
}
