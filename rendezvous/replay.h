/* The nonces of the 0-RTT HELLOs a server took (docs/protocol.md,
 * "Registration in one flight"): each is taken once. A HELLO0 is good
 * while its client time is within the window W of the server's clock, so
 * one taken at server time s could come again until at most s + 2W: the
 * cache keeps each nonce that long, in the order taken (a ring, oldest
 * first, so expiry is a pop), and finds it by a hash table under a
 * random SipHash key (nonces are the clients' choice). It is bounded:
 * when every place holds a nonce still in its time, it takes no more,
 * and the server answers with a CHALLENGE instead (a round trip more,
 * never a replay). Times are the caller's monotonic nanoseconds. */
#ifndef PTCP_RDVD_REPLAY_H
#define PTCP_RDVD_REPLAY_H

#include <stdint.h>

#include "rdvmsg.h"
#include "tstamp.h"

struct ptcp_rdvd_replay;

/* A cache of at most cap nonces, each kept keep_ns. Returns 0 with *out
 * set, -EINVAL for cap 0, -ENOMEM or -EIO (libsodium did not start). */
int ptcp_rdvd_replay_new(struct ptcp_rdvd_replay **out, uint32_t cap, uint64_t keep_ns);

/* NULL is ignored. */
void ptcp_rdvd_replay_free(struct ptcp_rdvd_replay *r);

enum ptcp_rdvd_replay_verdict {
	PTCP_RDVD_REPLAY_FRESH = 0,   /* not seen: recorded now */
	PTCP_RDVD_REPLAY_SEEN,        /* taken before, within its time */
	PTCP_RDVD_REPLAY_FULL,        /* no room: not recorded */
};

/* Records nonce at now unless it was taken within keep_ns or the cache
 * is full of nonces still in their time. */
enum ptcp_rdvd_replay_verdict ptcp_rdvd_replay_take(struct ptcp_rdvd_replay *r,
                                                    const uint8_t nonce[PTCP_RDV_NONCE_LEN],
                                                    ptcp_ts now);

/* Nonces held now (expired ones are dropped as new ones come). */
uint32_t ptcp_rdvd_replay_count(const struct ptcp_rdvd_replay *r);

#endif
