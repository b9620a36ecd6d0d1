/* Raw-socket I/O for one local TCP endpoint.
 *
 * Four kernel objects together let a userspace TCP own a port:
 *   - a kernel TCP socket bound to the address and port (never
 *     listening), with SO_REUSEPORT and without SO_REUSEADDR: no socket
 *     of another user can bind the port beside it (listening or not),
 *     while our own rendezvous socket can (portlock.h has the kernel's
 *     rule);
 *   - the port's lock (portlock.h), which keeps a second p2ptcp of our
 *     own uid off the port;
 *   - a raw IPPROTO_TCP socket that sends our segments (the kernel adds
 *     the IP header) and receives every TCP packet for the host, cut down
 *     to our port by a BPF socket filter (bpf.h). It is opened only once
 *     the port and the lock are ours, so a p2ptcp that cannot have the
 *     port never sees a segment of it;
 *   - SO_MARK on the raw socket, so the firewall rule of nftguard.h can
 *     tell our own RSTs from the ones the kernel sends for the port.
 *
 * IPv4 now; the family is kept in every endpoint for IPv6 later.
 * Functions return 0 or a negative errno value. */
#ifndef PTCP_RAWSOCK_H
#define PTCP_RAWSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "addr.h"
#include "portlock.h"

/* Largest packet we read: an IPv4 packet can be 64 KiB. */
#define PTCP_RAWSOCK_MTU 65536
/* Segments one ptcp_rawsock_send_many() hands to the kernel per call. */
#define PTCP_RAWSOCK_BATCH 32

struct ptcp_rawsock {
	int fd;                      /* raw socket, -1 when closed */
	int reserve_fd;              /* kernel TCP socket holding the port */
	int lock_fd;                 /* the port's lock (portlock.h) */
	struct ptcp_portlock_holder holder; /* who has the lock, after -EBUSY */
	struct ptcp_endpoint local;  /* address and port we own */
	uint32_t mark;               /* SO_MARK of the raw socket */
	uint8_t ttl;                 /* TTL currently set, 0 = the default */
};

/* Received packet: the addresses and where the TCP segment lies in the
 * caller's buffer. */
struct ptcp_rawsock_rx {
	struct ptcp_endpoint src;    /* port taken from the TCP header */
	struct ptcp_endpoint dst;
	const uint8_t *ip;           /* whole IP packet */
	size_t ip_len;
	const uint8_t *tcp;          /* TCP header and payload */
	size_t tcp_len;
	const char *why;             /* reason, when the packet was discarded */
};

/* Reserves local (IPv4; port 0 lets the kernel pick one, written back
 * into rs->local), takes the port's lock, then opens the raw socket.
 * Address 0.0.0.0 means not known yet (rendezvous mode learns it from its
 * connection to the server): the port is reserved on every address, and
 * the raw socket receives nothing until ptcp_rawsock_set_addr(). mark is set with SO_MARK (needs
 * CAP_NET_ADMIN, or CAP_NET_RAW on recent kernels). Socket buffers are
 * raised so a burst of a full window is not dropped by the socket.
 *
 * Returns 0, or -EBUSY (another p2ptcp holds the port's lock: rs->holder
 * says who, when known), -EADDRINUSE (another socket holds the port),
 * -EPERM/-EACCES (no CAP_NET_RAW), -EADDRNOTAVAIL (the address is not
 * ours), -EAFNOSUPPORT (not IPv4), or another -errno from socket(2),
 * bind(2) or setsockopt(2). On error everything opened is closed again
 * (rs->holder stays filled in). */
int ptcp_rawsock_open(struct ptcp_rawsock *rs, const struct ptcp_endpoint *local, uint32_t mark);

/* Sets our address once it is known (or again: it may change): binds the
 * raw socket to it, lets in the segments for it and our port, and drops
 * what was queued before. The port stays reserved as it was.
 *
 * Returns 0, or -EAFNOSUPPORT (not IPv4, or 0.0.0.0), -EADDRNOTAVAIL (not
 * an address of ours), or another -errno of bind(2) or setsockopt(2);
 * rs->local is then as before. */
int ptcp_rawsock_set_addr(struct ptcp_rawsock *rs, const struct ptcp_endpoint *addr);

/* Lets in our port's segments to every address of this host, for a
 * socket opened with 0.0.0.0 that sends each segment with its own source
 * (ptcp_rawsock_send_tx()): a node whose connections go out from more
 * than one address, or from one it learns later. Returns 0 or the -errno
 * of setsockopt(2). */
int ptcp_rawsock_set_any(struct ptcp_rawsock *rs);

/* Closes the sockets and releases the lock. Safe on a closed or
 * zeroed-then-failed rawsock. */
void ptcp_rawsock_close(struct ptcp_rawsock *rs);

/* Sends the TCP segment seg[0..len) (checksum already filled in for our
 * local address) to dst. ttl 0 uses the route's default; another value is
 * set with IP_TTL for this segment only.
 *
 * Returns 0, or -errno from sendto(2) (-ENOBUFS or -EAGAIN mean the
 * segment was lost locally, as on a congested link; TCP will retransmit
 * it). */
int ptcp_rawsock_send(struct ptcp_rawsock *rs, const struct ptcp_endpoint *dst,
                      const uint8_t *seg, size_t len, uint8_t ttl);

/* Sends n TCP segments to dst with one sendmmsg(2), all with the
 * route's default TTL (use ptcp_rawsock_send() for a segment with a TTL
 * of its own).
 *
 * Returns the number of segments the kernel took (the rest are lost
 * locally, as ptcp_rawsock_send() describes), or -errno when it took none:
 * -ENOBUFS/-EAGAIN are local drops, anything else a failure. */
int ptcp_rawsock_send_many(struct ptcp_rawsock *rs, const struct ptcp_endpoint *dst,
                           const struct iovec *segs, unsigned n);

/* One segment of ptcp_rawsock_send_tx(): where it goes and where from. */
struct ptcp_rawsock_tx {
	const uint8_t *seg;         /* TCP header and payload, checksum filled
	                               in for src and dst */
	size_t len;
	struct ptcp_endpoint src;   /* our address for this segment (the IP
	                               source, set with IP_PKTINFO: the socket
	                               may be bound to the wildcard); port
	                               ignored */
	struct ptcp_endpoint dst;   /* the peer; port ignored */
	uint8_t ttl;                /* 0: the route's default, else IP_TTL for
	                               this segment only */
};

/* Sends tx[0..n), each with its own source, destination and TTL, with as
 * few sendmmsg(2) calls as possible. Returns the number the kernel took
 * (the rest are lost locally, as ptcp_rawsock_send() describes), or
 * -errno when it took none; -EAFNOSUPPORT if an endpoint is not IPv4. */
int ptcp_rawsock_send_tx(struct ptcp_rawsock *rs, const struct ptcp_rawsock_tx *tx, unsigned n);

/* Reads one packet into buf[0..cap) without blocking and finds its TCP
 * segment (ip.h).
 *
 * Returns 1 with *rx filled, 0 when a packet was read but discarded
 * (rx->why says why: malformed, fragment, not for our port), -EAGAIN when
 * nothing is waiting, or another -errno from recv(2). */
int ptcp_rawsock_recv(struct ptcp_rawsock *rs, uint8_t *buf, size_t cap, struct ptcp_rawsock_rx *rx);

#endif
