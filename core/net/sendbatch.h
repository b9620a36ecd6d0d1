/* Sending a batch of datagrams to one address with sendmmsg(2): the loop
 * the raw-socket and packet-socket drivers share. */
#ifndef PTCP_SENDBATCH_H
#define PTCP_SENDBATCH_H

#include <sys/socket.h>
#include <sys/uio.h>

#define PTCP_SENDBATCH_CHUNK 32  /* messages per sendmmsg(2) call */

/* Sends bufs[0..n) (one datagram each) to addr, PTCP_SENDBATCH_CHUNK per
 * system call, retrying on EINTR and stopping at the first message the
 * kernel did not take. Returns how many went (0..n), or -errno when the
 * very first one failed. */
int ptcp_send_batch(int fd, const struct iovec *bufs, unsigned n, const void *addr,
                    socklen_t addrlen);

#endif
