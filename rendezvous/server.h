/* rendezvousd's server: listeners, clients and the matching of peers, on
 * one libevent loop (docs/protocol.md describes what goes over the wire).
 *
 * Each client connection goes NEW -> (HELLO) CHALLENGED -> (AUTH)
 * REGISTERED (the CHALLENGE carries the server key and its signature of
 * the transcript, the AUTH the client's signature of the same), then makes one request at a time: LISTEN (wait to be asked)
 * or CONNECT (ask for a peer by key, optionally waiting for it). A
 * connection that breaks the protocol gets a fatal ERROR and a lingering
 * close (our FIN, then its bytes are read and dropped for a second), so
 * the ERROR arrives before any reset. Nothing one client sends can touch
 * another client except through a match.
 *
 * Limits: open connections in all and per address, a token bucket per
 * address for new connections and requests, a deadline for registration,
 * for each message from its first byte, and for silence once registered.
 *
 * With cfg->has_redis, instances on one Redis share their peers
 * (cluster.h): a CONNECT for a key registered at another instance goes
 * there, and waits there as a "ghost" client under the same rules. */
#ifndef PTCP_RDVD_SERVER_H
#define PTCP_RDVD_SERVER_H

#include "config.h"
#include "identity.h"

struct event_base;
struct ptcp_rdvd_server;

/* Opens the listeners of cfg on base; id is the server key, copied (the
 * caller may wipe its own). Returns 0 with *out set, or a negative errno
 * (with a line logged naming the address that failed). */
int ptcp_rdvd_server_new(struct ptcp_rdvd_server **out, struct event_base *base,
                         const struct ptcp_rdvd_config *cfg, const struct ptcp_identity *id);

/* Stops accepting and sends every client a fatal SHUTDOWN error. The
 * caller then runs the loop a little longer to flush, and frees. */
void ptcp_rdvd_server_stop(struct ptcp_rdvd_server *srv);

/* Closes every connection and frees everything. */
void ptcp_rdvd_server_free(struct ptcp_rdvd_server *srv);

/* Logs one line of counters at warn level (always shown):
 * "stats: clients=N registered=N ... heap_per_peer=N". */
void ptcp_rdvd_server_log_stats(struct ptcp_rdvd_server *srv);

#endif
