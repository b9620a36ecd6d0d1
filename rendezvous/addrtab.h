/* Per-address accounting for rendezvousd: how many connections each
 * client address, and each network around it, has open, and a token
 * bucket per address that every new connection and every request draws
 * from. An entry is an address cut to a prefix length: the address
 * itself is an IPv4 /32 or an IPv6 /64 (one host usually holds a whole
 * /64), the networks around it an IPv4 /24, an IPv6 /56 (a site) and /48
 * (an organisation). Entries outlive their connections until their
 * bucket is full again, so closing and reopening does not refill it;
 * ptcp_rdvd_addrtab_sweep() then drops them. */
#ifndef PTCP_RDVD_ADDRTAB_H
#define PTCP_RDVD_ADDRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "tstamp.h"

#define PTCP_RDVD_ADDR_KEY 18   /* family, prefix length, 16 address bytes */

/* The prefix lengths counted: the address, then the networks around it
 * (0: none at that level for the family). */
#define PTCP_RDVD_HOST_PLEN(family) ((family) == PTCP_AF_INET6 ? 64 : 32)
#define PTCP_RDVD_NET_LEVELS 2
#define PTCP_RDVD_NET_PLEN(family, level) \
	((family) == PTCP_AF_INET6 ? ((level) == 0 ? 56 : 48) : ((level) == 0 ? 24 : 0))

struct ptcp_rdvd_addr {
	struct ptcp_rdvd_addr *next;   /* hash chain */
	uint8_t key[PTCP_RDVD_ADDR_KEY];  /* family, prefix length, the address
	                                     with the bits past it zero */
	unsigned conns;                /* open connections from here */
	uint64_t tokens;               /* thousandths of a token (only the
	                                  address's own entry draws) */
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

/* The entry of ep's address cut to plen bits (its port is ignored; plen
 * at most 32 for IPv4, 128 for IPv6), made with a full bucket if new.
 * NULL when max_entries are in use even after a sweep, or out of
 * memory. */
struct ptcp_rdvd_addr *ptcp_rdvd_addrtab_get(struct ptcp_rdvd_addrtab *t,
                                             const struct ptcp_endpoint *ep, unsigned plen,
                                             ptcp_ts now);

/* Takes one token from a's bucket (after refilling it for the time
 * since the last call). False when the bucket is empty. Always true
 * without a rate limit. */
bool ptcp_rdvd_addr_take(struct ptcp_rdvd_addrtab *t, struct ptcp_rdvd_addr *a, ptcp_ts now);

/* Drops entries with no connection whose bucket is full again. */
void ptcp_rdvd_addrtab_sweep(struct ptcp_rdvd_addrtab *t, ptcp_ts now);

#endif
