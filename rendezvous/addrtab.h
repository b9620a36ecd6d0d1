/* Per-address accounting for rendezvousd: how many connections each
 * client address has open, and a token bucket that every new connection
 * and every request draws from. An IPv6 address counts by its /64 prefix,
 * since one host usually holds a whole /64. Entries outlive their
 * connections until their bucket is full again, so closing and reopening
 * does not refill it; ptcp_rdvd_addrtab_sweep() then drops them. */
#ifndef PTCP_RDVD_ADDRTAB_H
#define PTCP_RDVD_ADDRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "tstamp.h"

struct ptcp_rdvd_addr {
	struct ptcp_rdvd_addr *next;   /* hash chain */
	uint8_t key[17];               /* family, then the address (IPv6: /64) */
	unsigned conns;                /* open connections from here */
	uint64_t tokens;               /* thousandths of a token */
	ptcp_ts refilled;              /* when tokens was last brought up to date */
};

struct ptcp_rdvd_addrtab {
	struct ptcp_rdvd_addr **buckets;
	size_t nbuckets;               /* a power of two */
	size_t count;
	size_t max_entries;            /* get() fails beyond this */
	uint64_t rate;                 /* thousandths of a token per second; 0: no limit */
	uint64_t burst;                /* bucket size, thousandths of a token */
	uint8_t hash_key[16];
};

/* Makes an empty table. rate is tokens per second per address (0: no
 * rate limit), burst the bucket size in tokens (at least 1), max_entries
 * the most addresses tracked at once. Returns 0 or -ENOMEM. */
int ptcp_rdvd_addrtab_init(struct ptcp_rdvd_addrtab *t, unsigned rate, unsigned burst,
                           size_t max_entries);

/* Frees every entry and the table. */
void ptcp_rdvd_addrtab_free(struct ptcp_rdvd_addrtab *t);

/* The entry of ep's address (its port is ignored), made with a full
 * bucket if new. NULL when max_entries are in use even after a sweep, or
 * out of memory. */
struct ptcp_rdvd_addr *ptcp_rdvd_addrtab_get(struct ptcp_rdvd_addrtab *t,
                                             const struct ptcp_endpoint *ep, ptcp_ts now);

/* Takes one token from a's bucket (after refilling it for the time
 * since the last call). False when the bucket is empty. Always true
 * without a rate limit. */
bool ptcp_rdvd_addr_take(struct ptcp_rdvd_addrtab *t, struct ptcp_rdvd_addr *a, ptcp_ts now);

/* Drops entries with no connection whose bucket is full again. */
void ptcp_rdvd_addrtab_sweep(struct ptcp_rdvd_addrtab *t, ptcp_ts now);

#endif
