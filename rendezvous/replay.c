/* The 0-RTT replay cache: see replay.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "replay.h"

#define NONE UINT32_MAX

struct entry {
	uint8_t nonce[PTCP_RDV_NONCE_LEN];
	ptcp_ts until;          /* monotonic ns: forgotten from then on */
	uint32_t next;          /* hash chain, NONE at its end */
};

struct ptcp_rdvd_replay {
	struct entry *ring;     /* cap entries; [head, head + count) in use */
	uint32_t *buckets;      /* nbuckets chain heads, NONE: empty */
	uint32_t cap, head, count;
	uint32_t nbuckets;      /* a power of two, at least cap */
	uint64_t keep_ns;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

static uint32_t bucket_of(const struct ptcp_rdvd_replay *r, const uint8_t *nonce)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, nonce, PTCP_RDV_NONCE_LEN, r->hash_key);
	memcpy(&v, h, sizeof(v));
	return (uint32_t)(v & (r->nbuckets - 1));
}

int ptcp_rdvd_replay_new(struct ptcp_rdvd_replay **out, uint32_t cap, uint64_t keep_ns)
{
	struct ptcp_rdvd_replay *r;
	uint32_t nb = 1;

	*out = NULL;
	if (cap == 0 || cap > (1u << 30))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	while (nb < cap)
		nb <<= 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ring = calloc(cap, sizeof(*r->ring));
	r->buckets = malloc((size_t)nb * sizeof(*r->buckets));
	if (!r->ring || !r->buckets) {
		ptcp_rdvd_replay_free(r);
		return -ENOMEM;
	}
	memset(r->buckets, 0xff, (size_t)nb * sizeof(*r->buckets));
	r->cap = cap;
	r->nbuckets = nb;
	r->keep_ns = keep_ns;
	randombytes_buf(r->hash_key, sizeof(r->hash_key));
	*out = r;
	return 0;
}

void ptcp_rdvd_replay_free(struct ptcp_rdvd_replay *r)
{
	if (!r)
		return;
	free(r->ring);
	free(r->buckets);
	free(r);
}

/* Drops the oldest entry from its chain and the ring. */
static void pop_oldest(struct ptcp_rdvd_replay *r)
{
	uint32_t i = r->head, *link = &r->buckets[bucket_of(r, r->ring[i].nonce)];

	while (*link != NONE && *link != i)
		link = &r->ring[*link].next;
	if (*link == i)
		*link = r->ring[i].next;
	r->head = (r->head + 1) % r->cap;
	r->count--;
}

enum ptcp_rdvd_replay_verdict ptcp_rdvd_replay_take(struct ptcp_rdvd_replay *r,
                                                    const uint8_t nonce[PTCP_RDV_NONCE_LEN],
                                                    ptcp_ts now)
{
	uint32_t b, i;

	while (r->count && r->ring[r->head].until <= now)
		pop_oldest(r);
	b = bucket_of(r, nonce);
	for (i = r->buckets[b]; i != NONE; i = r->ring[i].next)
		if (sodium_memcmp(r->ring[i].nonce, nonce, PTCP_RDV_NONCE_LEN) == 0)
			return PTCP_RDVD_REPLAY_SEEN;
	if (r->count == r->cap)
		return PTCP_RDVD_REPLAY_FULL;
	i = (r->head + r->count) % r->cap;
	memcpy(r->ring[i].nonce, nonce, PTCP_RDV_NONCE_LEN);
	r->ring[i].until = ptcp_ts_add(now, r->keep_ns);
	r->ring[i].next = r->buckets[b];
	r->buckets[b] = i;
	r->count++;
	return PTCP_RDVD_REPLAY_FRESH;
}

uint32_t ptcp_rdvd_replay_count(const struct ptcp_rdvd_replay *r)
{
	return r->count;
}
