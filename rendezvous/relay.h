/* rendezvousd --relay: the relay port (docs/protocol.md, "The relay").
 *
 * For each match the server makes between two peers of its own, it asks
 * the relay for an offer: a random token bound to both peers' keys, good
 * for one JOIN per key until it expires. If punching fails, both peers
 * connect to the relay port with ordinary TCP, each JOINs with the token,
 * its key and its signature of both; once both are in, the relay answers
 * READY to each and copies bytes between them. The peers' secure channel
 * runs end to end over the stream: the relay holds no keys and sees only
 * sealed records.
 *
 * Bounds: streams at once, connections waiting to join (in all and per
 * address), offers, bytes per second per stream and in all (libevent's
 * rate limits), a handshake timeout (accept to JOIN), a wait for the
 * other peer (the offer's life), an idle timeout per stream, and
 * RELAY_BUF bytes queued per direction: a peer that never reads stops
 * its own stream only. One log line per stream when it ends (who, how
 * long, bytes each way, why), one per refused join. */
#ifndef PTCP_RDVD_RELAY_H
#define PTCP_RDVD_RELAY_H

#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "relaymsg.h"

struct event_base;
struct ptcp_rdvd_relay;

/* Opens the relay port on each of cfg's listen addresses (port
 * cfg->relay_port). Returns 0 with *out set, or a negative errno (a line
 * logged names the address). */
int ptcp_rdvd_relay_new(struct ptcp_rdvd_relay **out, struct event_base *base,
                        const struct ptcp_rdvd_config *cfg);

/* An offer for the match of keys a and b, whose ISNs are isn_a and
 * isn_b: its token in token. A fresh one, or the token of the open offer
 * for the same two peers' match over the other IP version (the same keys
 * and one ISN the same, as an asker's over both), so that both MATCHes
 * carry one token. Returns 0, or -ENOBUFS when as many
 * offers are open as allowed (the match then goes without a relay). */
int ptcp_rdvd_relay_offer(struct ptcp_rdvd_relay *r, const uint8_t a[PTCP_RELAY_KEY_LEN],
                          uint32_t isn_a, const uint8_t b[PTCP_RELAY_KEY_LEN], uint32_t isn_b,
                          uint8_t token[PTCP_RELAY_TOKEN_LEN]);

/* The relay's endpoint for a client whose rendezvous connection arrived
 * at local: the same address, the relay port. */
void ptcp_rdvd_relay_endpoint(const struct ptcp_rdvd_relay *r, const struct ptcp_endpoint *local,
                              struct ptcp_endpoint *out);

/* Stops accepting; every connection gets SHUTDOWN (waiting ones) or is
 * closed (streams). */
void ptcp_rdvd_relay_stop(struct ptcp_rdvd_relay *r);

/* Frees everything (NULL allowed). */
void ptcp_rdvd_relay_free(struct ptcp_rdvd_relay *r);

/* Counters for the stats line: " relay_streams=N relay_open=N ...". */
int ptcp_rdvd_relay_stats(const struct ptcp_rdvd_relay *r, char *buf, size_t cap);

#endif
