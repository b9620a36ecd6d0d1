/* A node's use of the rendezvous server (docs/protocol.md,
 * docs/nat-traversal.md): find the server (c-ares), register from the
 * node's port (the NAT mapping the server sees is the one peers will be
 * told to reach), learn whether our NAT keeps ports, and carry the node's
 * requests:
 *   - listen: be matched with whoever asks for us, again and again; each
 *     MATCH becomes a peer scheduled to punch at the agreed time, and the
 *     request is renewed at once with a fresh ISN. The registration is
 *     kept; after the server goes away the node registers again with
 *     backoff (1 s doubling to 60 s, with jitter).
 *   - connect: ask for a peer id; its MATCH schedules that peer. Requests
 *     wait their turn (the protocol has one outstanding request per
 *     registration).
 * The kernel's TCP carries the rendezvous connection on the node's own
 * port: ptcp_rdvflow_owns() tells the node which received segments are
 * that connection's and not the engine's. */
#ifndef PTCP_RDVFLOW_H
#define PTCP_RDVFLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "p2ptcp/p2ptcp.h"

struct ptcp_node;
struct ptcp_peer;
struct ptcp_rdvflow;

/* Creates the workflow for n (n->s.rendezvous is set); nothing is sent
 * until a request. Returns 0, PTCP_ERR_INVAL (a server text that is not
 * HOST[:PORT]; logged) or PTCP_ERR_NOMEM. */
int ptcp_rdvflow_new(struct ptcp_rdvflow **out, struct ptcp_node *n);

/* Unregisters (the connection closes) and frees. NULL is allowed. */
void ptcp_rdvflow_free(struct ptcp_rdvflow *f);

/* The server's key, as the latest registration's signature proved it.
 * Returns 0 with key filled, or PTCP_ERR_STATE before any registration
 * got that far. */
int ptcp_rdvflow_server_key(const struct ptcp_rdvflow *f, uint8_t key[PTCP_ID_LEN]);

/* Starts serving: see above. allow[0..n_allow) is copied; with at most
 * PTCP_RDV_ALLOW_MAX ids it is also sent to the server, so that others
 * are refused there. Returns 0 or PTCP_ERR_STATE (listening already, or a
 * connect is queued). */
int ptcp_rdvflow_listen(struct ptcp_rdvflow *f, const uint8_t (*allow)[PTCP_ID_LEN],
                        unsigned n_allow);

/* Queues a connect request for p (PEER_REQUESTED, expect_id set).
 * Returns 0, PTCP_ERR_STATE (the node listens) or PTCP_ERR_NOMEM. */
int ptcp_rdvflow_connect(struct ptcp_rdvflow *f, struct ptcp_peer *p);

/* Forgets p's request (p goes away). */
void ptcp_rdvflow_cancel(struct ptcp_rdvflow *f, struct ptcp_peer *p);

/* After the node's peers took their steps: a listening node at its
 * max_peers says BUSY, and listens again once one has ended. */
void ptcp_rdvflow_step(struct ptcp_rdvflow *f);

/* True when a segment from src to dst belongs to the kernel's rendezvous
 * connection (f may be NULL). */
bool ptcp_rdvflow_owns(const struct ptcp_rdvflow *f, const struct ptcp_endpoint *src,
                       const struct ptcp_endpoint *dst);

/* Our NAT rewrote our port at the registration of this IP version, and
 * the probe from a second port could not tell (f may be NULL): a punching
 * timeout then most likely means a symmetric NAT. Fills observed with
 * what the server saw and local with our socket's endpoint. */
bool ptcp_rdvflow_rewritten(const struct ptcp_rdvflow *f, uint8_t family,
                            struct ptcp_endpoint *local, struct ptcp_endpoint *observed);

/* True when a listening node's allow list admits pk (or is empty, or f is
 * NULL). */
bool ptcp_rdvflow_allowed(const struct ptcp_rdvflow *f, const uint8_t pk[PTCP_ID_LEN]);

#endif
