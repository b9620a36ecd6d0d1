/* A peer's second transport: a stream through the rendezvous server's
 * relay (docs/protocol.md, "The relay"), for when punching cannot work.
 *
 * An ordinary kernel TCP connection to the relay endpoint of the MATCH:
 * connect, JOIN (the match's token, our key, our signature of both),
 * wait for READY (the other peer joined too), then a plain byte stream
 * that the peer's secure channel runs over end to end, as it would over
 * the engine's connection. peer.c reaches it through its transport
 * functions; this file knows libevent and the socket, nothing of the
 * channel. */
#ifndef PTCP_NODE_RELAY_H
#define PTCP_NODE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conn.h"
#include "relaymsg.h"
#include "tstamp.h"

struct ptcp_node;
struct ptcp_relay_conn;

/* Longest wait from the start to READY: the relay keeps an offer for
 * its --relay-wait (60 s by default) and says TIMEOUT itself. */
#define PTCP_RELAY_CONN_WAIT (70 * PTCP_NS_PER_S)

/* Connects to relay and joins with token as n's key. Returns 0 with *out
 * set, PTCP_ERR_IDENTITY (no key to sign with), PTCP_ERR_SYSTEM (no
 * socket; the log says why) or PTCP_ERR_NOMEM. */
int ptcp_relay_conn_new(struct ptcp_relay_conn **out, struct ptcp_node *n,
                        const struct ptcp_endpoint *relay, const uint8_t token[PTCP_RELAY_TOKEN_LEN],
                        ptcp_ts now);

/* Closes the socket (a reset if bytes are unread) and frees. NULL allowed. */
void ptcp_relay_conn_free(struct ptcp_relay_conn *rc);

/* Where the connection is: 1 ready (READY came: bytes flow), 0 still
 * joining, or a negative error once it failed: PTCP_ERR_RELAY (the
 * relay cannot be reached, broke the protocol, or the stream broke),
 * PTCP_ERR_RELAY_REFUSED (the relay said ERROR: token, signature, full),
 * PTCP_ERR_RELAY_TIMEOUT (no READY within PTCP_RELAY_CONN_WAIT, or the
 * relay says the other peer did not come). detail holds one line. */
int ptcp_relay_conn_status(const struct ptcp_relay_conn *rc, const char **detail);

/* While joining: the deadline (the caller fails the peer when it passes). */
ptcp_ts ptcp_relay_conn_deadline(const struct ptcp_relay_conn *rc);

/* The relay's endpoint and our socket's, for the peer's info. */
void ptcp_relay_conn_endpoints(const struct ptcp_relay_conn *rc, struct ptcp_endpoint *local,
                               struct ptcp_endpoint *remote);

/* The stream, once ready. send takes what fits in the output buffer
 * (returns the count, possibly 0); recv copies what came (0: nothing
 * now). recv_eof: the relay passed the other peer's FIN and every byte
 * before it was read. shutdown: our FIN after what is queued. done: our
 * FIN is out and theirs came. */
ptcp_ssize ptcp_relay_conn_send(struct ptcp_relay_conn *rc, const uint8_t *buf, size_t len);
ptcp_ssize ptcp_relay_conn_recv(struct ptcp_relay_conn *rc, uint8_t *buf, size_t cap);
/* ptcp_relay_conn_recv() without the copy: the first chunks of what
 * arrived, where the relay's buffer holds them (two at most; returns how
 * many, 0 when nothing is ready), valid until the next call for rc; then
 * the first n bytes consumed (returns n, PTCP_ERR_INVAL for more than
 * there is, or rc's error). */
unsigned ptcp_relay_conn_recv_peek(struct ptcp_relay_conn *rc, const uint8_t *base[2], size_t len[2]);
ptcp_ssize ptcp_relay_conn_recv_consume(struct ptcp_relay_conn *rc, size_t n);

size_t ptcp_relay_conn_recv_ready(const struct ptcp_relay_conn *rc);
bool ptcp_relay_conn_recv_eof(const struct ptcp_relay_conn *rc);
size_t ptcp_relay_conn_send_space(const struct ptcp_relay_conn *rc);
void ptcp_relay_conn_shutdown(struct ptcp_relay_conn *rc);
bool ptcp_relay_conn_done(const struct ptcp_relay_conn *rc);

#endif
