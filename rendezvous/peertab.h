/* The table of registered peers: a hash table keyed by the 32-byte public
 * key, O(1) to find, insert and remove. Nodes are embedded in the
 * caller's struct (intrusive), so the table allocates only its bucket
 * array. The hash is SipHash-2-4 (libsodium's crypto_shorthash) under a
 * random key drawn at start: keys are chosen by clients, who must not be
 * able to aim many of them at one bucket. */
#ifndef PTCP_RDVD_PEERTAB_H
#define PTCP_RDVD_PEERTAB_H

#include <stddef.h>
#include <stdint.h>

#include "rdvmsg.h"

struct ptcp_rdvd_peer_node {
	struct ptcp_rdvd_peer_node *next;   /* hash chain */
	uint8_t key[PTCP_RDV_KEY_LEN];
};

struct ptcp_rdvd_peertab {
	struct ptcp_rdvd_peer_node **buckets;
	size_t nbuckets;    /* a power of two */
	size_t count;
	uint8_t hash_key[16];
};

/* Makes an empty table. Returns 0 or -ENOMEM. */
int ptcp_rdvd_peertab_init(struct ptcp_rdvd_peertab *t);

/* Frees the buckets (not the nodes). */
void ptcp_rdvd_peertab_free(struct ptcp_rdvd_peertab *t);

/* The node with this key, or NULL. */
struct ptcp_rdvd_peer_node *ptcp_rdvd_peertab_find(const struct ptcp_rdvd_peertab *t,
                                                   const uint8_t key[PTCP_RDV_KEY_LEN]);

/* The next node after n (which is in the table) with n's key, or NULL:
 * for a table that holds several nodes of one key. */
struct ptcp_rdvd_peer_node *ptcp_rdvd_peertab_next(const struct ptcp_rdvd_peertab *t,
                                                   const struct ptcp_rdvd_peer_node *n);

/* Adds n (its key filled in, not in the table). A table that is to find
 * one node per key must hold no other node with that key; one walked
 * with _next may hold several. Grows the bucket array when the load
 * passes 1; if that allocation fails the table just gets fuller. */
void ptcp_rdvd_peertab_insert(struct ptcp_rdvd_peertab *t, struct ptcp_rdvd_peer_node *n);

/* Removes n, which must be in the table. */
void ptcp_rdvd_peertab_remove(struct ptcp_rdvd_peertab *t, struct ptcp_rdvd_peer_node *n);

#endif
