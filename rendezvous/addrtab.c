#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "addrtab.h"

#define BUCKETS 4096

static void make_key(uint8_t key[PTCP_RDVD_ADDR_KEY], const struct ptcp_endpoint *ep, unsigned plen)
{
	unsigned max = ep->family == PTCP_AF_INET6 ? 128 : 32;

	if (plen > max)
		plen = max;
	memset(key, 0, PTCP_RDVD_ADDR_KEY);
	key[0] = ep->family;
	key[1] = (uint8_t)plen;
	memcpy(key + 2, ep->addr, plen / 8);
	if (plen % 8)
		key[2 + plen / 8] = (uint8_t)(ep->addr[plen / 8] & (0xff00 >> (plen % 8)));
}

static size_t bucket_of(const struct ptcp_rdvd_addrtab *t, const uint8_t key[PTCP_RDVD_ADDR_KEY])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, PTCP_RDVD_ADDR_KEY, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & (t->nbuckets - 1);
}

int ptcp_rdvd_addrtab_init(struct ptcp_rdvd_addrtab *t, unsigned rate, unsigned burst,
                           size_t max_entries)
{
	memset(t, 0, sizeof(*t));
	if (sodium_init() < 0)
		return -EIO;
	t->buckets = calloc(BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = BUCKETS;
	t->max_entries = max_entries;
	t->rate = (uint64_t)rate * 1000;
	t->burst = (uint64_t)(burst ? burst : 1) * 1000;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	return 0;
}

void ptcp_rdvd_addrtab_free(struct ptcp_rdvd_addrtab *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct ptcp_rdvd_addr *a = t->buckets[i], *next;

		for (; a; a = next) {
			next = a->next;
			free(a);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static void refill(const struct ptcp_rdvd_addrtab *t, struct ptcp_rdvd_addr *a, ptcp_ts now)
{
	uint64_t dt = ptcp_ts_elapsed(now, a->refilled);
	uint64_t add;

	if (t->rate == 0)
		return;
	/* dt * rate overflows only after ~5 hours at 1000/s: cap dt at the
	 * time a bucket takes to fill, which is all that matters. */
	if (dt > (t->burst * PTCP_NS_PER_S) / t->rate + PTCP_NS_PER_S)
		dt = (t->burst * PTCP_NS_PER_S) / t->rate + PTCP_NS_PER_S;
	add = dt * t->rate / PTCP_NS_PER_S;
	if (add == 0)
		return;   /* keep a->refilled: the fraction accumulates */
	a->tokens = a->tokens + add > t->burst ? t->burst : a->tokens + add;
	a->refilled = now;
}

struct ptcp_rdvd_addr *ptcp_rdvd_addrtab_get(struct ptcp_rdvd_addrtab *t,
                                             const struct ptcp_endpoint *ep, unsigned plen,
                                             ptcp_ts now)
{
	struct ptcp_rdvd_addr *a;
	uint8_t key[PTCP_RDVD_ADDR_KEY];
	size_t k;

	make_key(key, ep, plen);
	k = bucket_of(t, key);
	for (a = t->buckets[k]; a; a = a->next)
		if (memcmp(a->key, key, sizeof(key)) == 0)
			return a;
	if (t->count >= t->max_entries) {
		ptcp_rdvd_addrtab_sweep(t, now);
		if (t->count >= t->max_entries)
			return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a->key, key, sizeof(key));
	a->tokens = t->burst;
	a->refilled = now;
	a->next = t->buckets[k];
	t->buckets[k] = a;
	t->count++;
	return a;
}

bool ptcp_rdvd_addr_take(struct ptcp_rdvd_addrtab *t, struct ptcp_rdvd_addr *a, ptcp_ts now)
{
	if (t->rate == 0)
		return true;
	refill(t, a, now);
	if (a->tokens < 1000)
		return false;
	a->tokens -= 1000;
	return true;
}

void ptcp_rdvd_addrtab_sweep(struct ptcp_rdvd_addrtab *t, ptcp_ts now)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct ptcp_rdvd_addr **p = &t->buckets[i];

		while (*p) {
			struct ptcp_rdvd_addr *a = *p;

			refill(t, a, now);
			if (a->conns == 0 && (t->rate == 0 || a->tokens >= t->burst)) {
				*p = a->next;
				free(a);
				t->count--;
			} else {
				p = &a->next;
			}
		}
	}
}
