/* Bytes between a pair of descriptors and a peer of libp2ptcp, both ways,
 * with backpressure: what the peer sends is read from the library only as
 * fast as out_fd takes it (so a slow reader closes the peer's window), and
 * in_fd is read only while the peer takes bytes. End of in_fd shuts our
 * direction down; the peer's end closes out_fd once its last byte is out.
 *
 * in_fd and out_fd may be one socket (--forward): then the peer's end is
 * shutdown(SHUT_WR). Regular files and /dev/null cannot be polled; they
 * are read and written whenever the peer can take or give bytes.
 *
 * The owner forwards the peer's callbacks (peer_open, peer_readable,
 * peer_writable) to ptcp_pump_kick(), and frees the pump when the peer
 * ends (peer_closed). */
#ifndef PTCP_CLI_PUMP_H
#define PTCP_CLI_PUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "p2ptcp/p2ptcp.h"

struct event_base;
struct ptcp_pump;

/* How the peer's end reaches out_fd. */
enum ptcp_pump_out_end {
	PTCP_PUMP_OUT_DEVNULL = 0, /* dup2 /dev/null over it (standard output:
	                              the number stays taken, the reader sees EOF) */
	PTCP_PUMP_OUT_CLOSE,       /* close it (a pipe to a child) */
	PTCP_PUMP_OUT_SHUTDOWN,    /* shutdown(SHUT_WR) (a socket, in_fd == out_fd) */
};

/* Something the owner should know: the pump failed (sys_errno and what,
 * "read" or "write", say how); or EPIPE on "write": out_fd's reader went
 * away, and the pump goes on in the other direction, dropping what the
 * peer sends (the owner may end it); or, sys_errno 0, a detached pump
 * wrote its last byte. */
typedef void ptcp_pump_done_fn(void *user, struct ptcp_pump *pump, int sys_errno,
                               const char *what);

/* Makes a pump for peer between in_fd and out_fd (made non-blocking while
 * the pump lives, restored by ptcp_pump_free). Returns 0 or -ENOMEM. */
int ptcp_pump_new(struct ptcp_pump **out, struct event_base *base, ptcp_peer *peer, int in_fd,
                  int out_fd, enum ptcp_pump_out_end out_end, ptcp_pump_done_fn *on_error,
                  void *user);

/* Moves what can be moved now; call on peer_open, peer_readable and
 * peer_writable. */
void ptcp_pump_kick(struct ptcp_pump *pump);

/* Stops reading in_fd and shuts the peer's direction down, as if in_fd
 * had ended (SIGHUP, a child that exited). */
void ptcp_pump_end_input(struct ptcp_pump *pump);

/* The peer is gone (peer_closed): nothing more is read from in_fd or
 * given to the peer; what the pump holds for out_fd is still written, and
 * on_error(0) says when that is done (at once if nothing is held). */
void ptcp_pump_detach(struct ptcp_pump *pump);

/* True once the peer's end was passed on to out_fd. */
bool ptcp_pump_out_done(const struct ptcp_pump *pump);

/* Bytes each way so far. */
uint64_t ptcp_pump_bytes_in(const struct ptcp_pump *pump);

void ptcp_pump_free(struct ptcp_pump *pump);

#endif
