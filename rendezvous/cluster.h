/* rendezvousd instances that share one Redis (--redis): the registry of
 * peers (which instance holds each peer id) and the channel to each
 * instance, on hiredis with its libevent adapter. The matching itself
 * stays in server.c: this module only stores, looks up and carries
 * (docs/protocol.md, "Scale-out on Redis").
 *
 * Keys are built from hex only (peer keys, instance ids), never from
 * client text; what goes into Redis is what the codecs made (clustermsg.h,
 * endpoints formatted by addr.h).
 *
 *   p2ptcp:rdv:peer:<64 hex of the key>   hash: inst, public, private;
 *                                          expires after the TTL unless
 *                                          refreshed
 *   p2ptcp:rdv:inst:<16 hex of the id>    the pub/sub channel an
 *                                          instance reads
 *
 * Two connections: one for commands, one subscribed to our own channel.
 * When either breaks, both are closed, the loss is logged once, and they
 * are opened again with backoff (250 ms doubling to 5 s); once both are
 * back that is logged, and ops->up runs so the server registers its peers
 * again (Redis may have lost them). Commands while the link is down fail
 * at once (-ENOTCONN): the server then serves its own peers alone. */
#ifndef PTCP_RDVD_CLUSTER_H
#define PTCP_RDVD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "clustermsg.h"

struct event_base;
struct ptcp_rdvd_cluster;

#define PTCP_RDVD_REDIS_PORT 6379

/* The results ops->routed reports for a REQUEST. */
enum ptcp_rdvd_route {
	PTCP_RDVD_ROUTE_SENT = 1,       /* the target's instance has it */
	PTCP_RDVD_ROUTE_UNKNOWN = 0,    /* no instance has the target key */
	PTCP_RDVD_ROUTE_GONE = -1,      /* its instance reads no more (killed):
	                                   the registration was deleted */
	PTCP_RDVD_ROUTE_DOWN = -2,      /* no answer from Redis */
};

struct ptcp_rdvd_cluster_ops {
	/* The link is up (the first time, or back after a loss). */
	void (*up)(void *user);
	/* The link is lost: messages in flight are gone. */
	void (*down)(void *user);
	/* A message from another instance, parsed (bad ones are counted and
	 * dropped here). */
	void (*message)(void *user, const struct ptcp_rdvd_cmsg *m);
	/* Where a REQUEST from ptcp_rdvd_cluster_route() went (enum
	 * ptcp_rdvd_route); inst is the target's instance for SENT. */
	void (*routed)(void *user, const uint8_t asker[PTCP_RDV_KEY_LEN],
	               const uint8_t target[PTCP_RDV_KEY_LEN], uint64_t id, int result,
	               const uint8_t inst[PTCP_RDVD_INST_LEN]);
};

struct ptcp_rdvd_cluster_config {
	struct ptcp_endpoint redis;    /* numeric address and port */
	unsigned ttl_ms;               /* of a registration not refreshed */
	unsigned max_pending;          /* commands awaiting a reply; more are
	                                  refused with -ENOBUFS */
};

/* Starts connecting to Redis (the result is logged; this does not wait).
 * Returns 0 with *out set, -EINVAL for an address of no family, or -ENOMEM. */
int ptcp_rdvd_cluster_new(struct ptcp_rdvd_cluster **out, struct event_base *base,
                          const struct ptcp_rdvd_cluster_config *cfg,
                          const struct ptcp_rdvd_cluster_ops *ops, void *user);

/* Closes both connections (pending commands are dropped) and frees. */
void ptcp_rdvd_cluster_free(struct ptcp_rdvd_cluster *cl);

/* True while both connections are up. */
bool ptcp_rdvd_cluster_up(const struct ptcp_rdvd_cluster *cl);

/* This instance's id (random, new at every start). */
const uint8_t *ptcp_rdvd_cluster_id(const struct ptcp_rdvd_cluster *cl);

/* Records key as registered here, with its endpoints, for the TTL. When
 * another instance had it, that instance is sent REPLACED (in the same
 * script, so no registration is lost in between). Returns 0, -ENOTCONN
 * (link down) or -ENOBUFS (too many commands pending). */
int ptcp_rdvd_cluster_register(struct ptcp_rdvd_cluster *cl, const uint8_t key[PTCP_RDV_KEY_LEN],
                               const struct ptcp_endpoint *observed,
                               const struct ptcp_endpoint *priv);

/* Extends key's TTL if it is still ours, records it again if Redis lost
 * it, leaves it alone if another instance has it. Errors as _register. */
int ptcp_rdvd_cluster_refresh(struct ptcp_rdvd_cluster *cl, const uint8_t key[PTCP_RDV_KEY_LEN],
                              const struct ptcp_endpoint *observed,
                              const struct ptcp_endpoint *priv);

/* Deletes key's registration if it is still ours. Errors as _register. */
int ptcp_rdvd_cluster_unregister(struct ptcp_rdvd_cluster *cl, const uint8_t key[PTCP_RDV_KEY_LEN]);

/* Sends a REQUEST (sender filled in here) to the instance that has
 * m->request.target, in one script: look up, publish, and delete the
 * registration when no instance reads that channel any more. The result
 * comes through ops->routed (also PTCP_RDVD_ROUTE_DOWN when the link
 * breaks first), unless this returns an error (as _register; then no
 * callback), or -EINVAL for a message that does not encode. */
int ptcp_rdvd_cluster_route(struct ptcp_rdvd_cluster *cl, struct ptcp_rdvd_cmsg *m);

/* Publishes m (sender filled in here) to instance inst. Errors as
 * _route. */
int ptcp_rdvd_cluster_send(struct ptcp_rdvd_cluster *cl, const uint8_t inst[PTCP_RDVD_INST_LEN],
                           struct ptcp_rdvd_cmsg *m);

/* " redis=up|down redis_published=N redis_received=N redis_bad=N
 * redis_refused=N redis_losses=N" for the stats line. */
void ptcp_rdvd_cluster_stats(const struct ptcp_rdvd_cluster *cl, char *buf, size_t len);

/* id as 16 lower-case hex digits (buf: at least 17 bytes). */
const char *ptcp_rdvd_inst_hex(const uint8_t id[PTCP_RDVD_INST_LEN], char *buf);

#endif
