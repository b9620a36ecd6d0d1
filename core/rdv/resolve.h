/* Name resolution for the rendezvous server with c-ares, inside a
 * libevent loop: c-ares tells us which sockets it waits on
 * (ARES_OPT_SOCK_STATE_CB) and we watch them with libevent events, plus
 * one timer for its retransmissions.
 *
 * A host with an explicit port is looked up for A and AAAA records. A bare
 * domain (no port given) is first looked up as the SRV record
 * _p2ptcp._tcp.<domain> (RFC 2782): its target and port win; without one,
 * the domain's own A and AAAA records are used with the default port.
 * A numeric address is answered as it is (with the port, or the default
 * port), without c-ares and without a DNS query. */
#ifndef PTCP_RESOLVE_H
#define PTCP_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;
struct ptcp_resolve;

#define PTCP_RESOLVE_MAX 8      /* addresses reported at most */

/* The answer: n addresses (with their port) to try in turn, or n == 0
 * and msg saying why not ("cannot resolve 'x': Domain name not found",
 * "cannot resolve 'x': no answer within 5000 ms"). Called exactly once,
 * from the loop (also when the time limit ends the look-up: c-ares'
 * queries are cancelled then); it may call ptcp_resolve_free(), after
 * which eps and msg (which live in the resolver) are gone. */
typedef void (*ptcp_resolve_cb)(void *user, const struct ptcp_endpoint *eps, unsigned n,
                                const char *msg);

/* Splits "HOST", "HOST:PORT" or "[HOST]:PORT" into host (NUL-terminated,
 * at most cap bytes) and port (0 when none was given). Returns 0 or
 * -EINVAL with "invalid rendezvous address: 's'" in err. */
int ptcp_resolve_split(const char *s, char *host, size_t cap, uint16_t *port,
                       char *err, size_t errlen);

/* Starts resolving host. port 0 means "none given": try the SRV record
 * first and fall back to default_port. timeout_ms bounds the whole
 * look-up (0: 5000). Returns 0 with *out set, -EINVAL or -ENOMEM (or
 * -EIO when c-ares cannot start: no usable resolver configuration). */
int ptcp_resolve_start(struct ptcp_resolve **out, struct event_base *base, const char *host,
                       uint16_t port, uint16_t default_port, unsigned timeout_ms,
                       ptcp_resolve_cb cb, void *user);

/* Cancels a pending look-up (the callback is not called) and frees it.
 * NULL is ignored. */
void ptcp_resolve_free(struct ptcp_resolve *r);

#endif
