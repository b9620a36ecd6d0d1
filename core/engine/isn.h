/* Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), with M a 4 microsecond timer and F
 * SipHash-2-4 keyed by a 16-byte secret that the caller draws from a secure
 * random source once (the engine has no random source of its own). */
#ifndef PTCP_ISN_H
#define PTCP_ISN_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "tstamp.h"

/* SipHash-2-4 of data[0..len) under key (reference test vectors from the
 * SipHash paper pass). */
uint64_t ptcp_siphash24(const uint8_t key[16], const void *data, size_t len);

/* SipHash-2-4 under key of the 4-tuple (family, address bytes that count
 * for the family, port of each end, local first). The connection table
 * keys its hash table with it; ptcp_isn_generate() is built on it. */
uint64_t ptcp_tuple_hash(const uint8_t key[16], const struct ptcp_endpoint *local,
                         const struct ptcp_endpoint *remote);

/* The RFC 6528 ISN for the 4-tuple at time now (ns on any monotonic
 * clock: M = now / 4 us). */
uint32_t ptcp_isn_generate(const uint8_t key[16], const struct ptcp_endpoint *local,
                           const struct ptcp_endpoint *remote, ptcp_ts now);

#endif
