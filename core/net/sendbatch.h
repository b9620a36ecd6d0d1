/* Sending a batch of datagrams with sendmmsg(2): the loop the raw-socket
 * and packet-socket drivers share. */
#ifndef PTCP_SENDBATCH_H
#define PTCP_SENDBATCH_H

#include <sys/socket.h>
#include <sys/uio.h>

#define PTCP_SENDBATCH_CHUNK 32  /* messages per sendmmsg(2) call */

/* Describes datagram i of a batch in msg (zeroed before the call). What
 * msg points to must stay valid until the next PTCP_SENDBATCH_CHUNK
 * datagrams have been described: storage indexed by i % CHUNK will do. */
typedef void ptcp_send_fill_fn(void *user, unsigned i, struct mmsghdr *msg);

/* Sends n datagrams, PTCP_SENDBATCH_CHUNK per system call, each described
 * by fill, retrying on EINTR and stopping at the first one the kernel did
 * not take. Returns how many went (0..n), or -errno when the very first
 * one failed. */
int ptcp_send_each(int fd, unsigned n, ptcp_send_fill_fn *fill, void *user);

/* Sends bufs[0..n) (one datagram each) to addr, as ptcp_send_each(). */
int ptcp_send_batch(int fd, const struct iovec *bufs, unsigned n, const void *addr,
                    socklen_t addrlen);

#endif
