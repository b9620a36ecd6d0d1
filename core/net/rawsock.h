/* Raw-socket I/O for one local TCP port, in IPv4 and IPv6.
 *
 * Four kernel objects together let a userspace TCP own a port, per
 * family (the port number is the same in both):
 *   - a kernel TCP socket bound to the address and port (never
 *     listening), with SO_REUSEPORT and without SO_REUSEADDR, and for
 *     IPv6 with IPV6_V6ONLY: no socket of another user can bind the port
 *     beside it (listening or not, on an address of that family, on the
 *     wildcard or dual-stack), while our own rendezvous socket can
 *     (portlock.h has the kernel's rule);
 *   - the port's lock (portlock.h), one for both families, which keeps a
 *     second p2ptcp of our own uid off the port;
 *   - a raw IPPROTO_TCP socket that sends our segments (the kernel adds
 *     the IP header) and receives every TCP packet for the host, cut down
 *     to our port by a BPF socket filter (bpf.h). It is opened only once
 *     the port and the lock are ours, so a p2ptcp that cannot have the
 *     port never sees a segment of it. An AF_INET socket receives the
 *     IPv4 packet; an AF_INET6 socket the TCP segment alone, with the
 *     source in msg_name and the destination and hop limit as
 *     IPV6_PKTINFO and IPV6_HOPLIMIT ancillary data;
 *   - SO_MARK on the raw socket, so the firewall rule of nftguard.h can
 *     tell our own RSTs from the ones the kernel sends for the port.
 *
 * A segment whose checksum field holds only the pseudo-header sum (a
 * kernel on this machine left it to offload: veth, loopback) is taken
 * only when the kernel says so: for IPv4 the checksum tap (csumtap.h)
 * vouches for it; the IPv6 raw socket has IPV6_CHECKSUM set, so the
 * kernel verifies every segment itself and passes only its own partial
 * ones unverified (and completes our checksum on send). Any other such
 * segment is dropped (RFC 9293 MUST-3).
 *
 * Functions return 0 or a negative errno value. */
#ifndef PTCP_RAWSOCK_H
#define PTCP_RAWSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "addr.h"
#include "csumtap.h"
#include "portlock.h"

/* Largest packet we read: an IP packet can be 64 KiB. */
#define PTCP_RAWSOCK_MTU 65536

/* The index of a family in ptcp_rawsock.fam[]. */
enum ptcp_rawsock_fam_index {
	PTCP_RAWSOCK_V4 = 0,
	PTCP_RAWSOCK_V6 = 1,
	PTCP_RAWSOCK_NFAM,
};

/* One family's sockets. */
struct ptcp_rawsock_fam {
	int fd;                      /* raw socket, -1 when this family is off */
	int reserve_fd;              /* kernel TCP socket holding the port */
	struct ptcp_endpoint local;  /* address (all zero: every address of
	                                the host) and the port */
};

struct ptcp_rawsock {
	struct ptcp_rawsock_fam fam[PTCP_RAWSOCK_NFAM];
	uint16_t port;               /* ours, in both families */
	int lock_fd;                 /* the port's lock (portlock.h) */
	struct ptcp_portlock_holder holder; /* who has the lock, after -EBUSY */
	uint32_t mark;               /* SO_MARK of the raw sockets */
	int v6_error;                /* why IPv6 is off after an open for both
	                                families (-EAFNOSUPPORT: the host has
	                                no IPv6), 0 when on or not asked */
	int tap_error;               /* why IPv4 has no checksum tap (-errno),
	                                0 when it has one or IPv4 is off */
	struct ptcp_csumtap tap;     /* which IPv4 segments this host's kernel
	                                left with partial checksums */
};

/* Received packet: the addresses and where the TCP segment lies in the
 * caller's buffer. */
struct ptcp_rawsock_rx {
	struct ptcp_endpoint src;    /* port taken from the TCP header */
	struct ptcp_endpoint dst;
	uint8_t ttl;                 /* IPv4 TTL or IPv6 hop limit on arrival */
	const uint8_t *ip;           /* IPv4: the whole packet; IPv6: NULL (the
	                                socket gives no header) */
	size_t ip_len;
	const uint8_t *tcp;          /* TCP header and payload */
	size_t tcp_len;
	const char *why;             /* reason, when the packet was discarded */
	bool csum_verified;          /* the TCP checksum needs no check: the
	                                kernel verified it (IPv6), or sent the
	                                segment itself with the checksum left
	                                to offload (IPv4, csum_partial) */
	bool csum_partial;           /* the checksum field holds a local
	                                kernel's pseudo-header sum */
};

/* The slot of family (PTCP_AF_INET or PTCP_AF_INET6), or -1. */
int ptcp_rawsock_index(uint8_t family);

/* True when the family's raw socket is open. */
bool ptcp_rawsock_has(const struct ptcp_rawsock *rs, uint8_t family);

/* Reserves the port in each family local asks for, takes the port's lock,
 * then opens the raw sockets:
 *   - local->family PTCP_AF_INET or PTCP_AF_INET6: that family only, on
 *     local's address (all zero: not known yet; the port is reserved on
 *     every address, and the raw socket receives nothing until
 *     ptcp_rawsock_set_any());
 *   - PTCP_AF_NONE: both, on every address. A host without IPv6 gets
 *     IPv4 alone (rs->v6_error says why); with local->port 0 the kernel's
 *     pick must be free in both families, else another is tried.
 * Port 0 lets the kernel pick one, written to rs->port. mark is set with
 * SO_MARK (needs CAP_NET_ADMIN, or CAP_NET_RAW on recent kernels). Socket
 * buffers are raised so a burst of a full window is not dropped by the
 * socket.
 *
 * Returns 0, or -EBUSY (another p2ptcp holds the port's lock: rs->holder
 * says who, when known), -EADDRINUSE (another socket holds the port in a
 * family we take), -EPERM/-EACCES (no CAP_NET_RAW), -EADDRNOTAVAIL (the
 * address is not ours), -EAFNOSUPPORT (an unknown family, or IPv6 alone
 * on a host without it), or another -errno from socket(2), bind(2) or
 * setsockopt(2). On error everything opened is closed again (rs->holder
 * stays filled in). */
int ptcp_rawsock_open(struct ptcp_rawsock *rs, const struct ptcp_endpoint *local, uint32_t mark);

/* Lets in our port's segments to every address of this host in every
 * open family, for sockets opened with the wildcard that send each
 * segment with its own source (ptcp_rawsock_send_tx()): a node whose
 * connections go out from more than one address, or from one it learns
 * later. Returns 0 or the -errno of setsockopt(2). */
int ptcp_rawsock_set_any(struct ptcp_rawsock *rs);

/* Closes the sockets and releases the lock. Safe on a closed or
 * zeroed-then-failed rawsock. */
void ptcp_rawsock_close(struct ptcp_rawsock *rs);

/* Makes the IPv4 raw socket receive only our segments without a payload
 * (SYN, pure ACK, FIN, RST: ptcp_bpf_tcp_port_payload(), bpf.h), while it
 * still sends and holds the port: the receive ring (rxring.h) takes those
 * with one, so no segment comes twice. Returns 0 or -errno
 * (-EAFNOSUPPORT: IPv4 is off). */
int ptcp_rawsock_no_payload(struct ptcp_rawsock *rs);

/* Undoes ptcp_rawsock_no_payload(): the IPv4 raw socket receives all our
 * segments again (the receive ring is being closed), and keeps what it
 * has queued. Returns 0 or -errno (-EAFNOSUPPORT: IPv4 is off). */
int ptcp_rawsock_all_segments(struct ptcp_rawsock *rs);

/* One segment of ptcp_rawsock_send_tx(): where it goes and where from. */
struct ptcp_rawsock_tx {
	const uint8_t *seg;         /* TCP header and payload, checksum filled
	                               in for src and dst */
	size_t len;
	struct ptcp_endpoint src;   /* our address for this segment (the IP
	                               source, set with IP_PKTINFO or
	                               IPV6_PKTINFO: the socket may be bound to
	                               the wildcard); port ignored */
	struct ptcp_endpoint dst;   /* the peer, of src's family; port ignored */
	uint8_t ttl;                /* 0: the route's default, else the TTL or
	                               hop limit for this segment only (IP_TTL,
	                               IPV6_HOPLIMIT) */
};

/* Sends tx[0..n), each with its own source, destination and TTL through
 * the raw socket of its family, with as few sendmmsg(2) calls as
 * possible (one per run of one family). Returns the number the kernel
 * took, in order (the rest are lost locally: -ENOBUFS or -EAGAIN are
 * local drops, as on a congested link, that TCP repairs), or -errno when
 * it took none; -EAFNOSUPPORT if the first segment's family has no
 * socket or its src and dst differ in family. */
int ptcp_rawsock_send_tx(struct ptcp_rawsock *rs, const struct ptcp_rawsock_tx *tx, unsigned n);

/* Reads one packet of family's socket into buf[0..cap) without blocking
 * and finds its TCP segment (ip.h for IPv4; for IPv6 the addresses and
 * hop limit come from msg_name and the ancillary data).
 *
 * A segment whose checksum this host's kernel left to offload is taken
 * as it is (rx->csum_partial: the field still holds the partial sum);
 * one that only looks so is discarded.
 *
 * Returns 1 with *rx filled, 0 when a packet was read but discarded
 * (rx->why says why: malformed, fragment, not for our port, a partial
 * checksum not from this host), -EAGAIN when
 * nothing is waiting, -EAFNOSUPPORT when the family has no socket, or
 * another -errno from recvmsg(2). */
int ptcp_rawsock_recv(struct ptcp_rawsock *rs, uint8_t family, uint8_t *buf, size_t cap,
                      struct ptcp_rawsock_rx *rx);

/* The ports of the segment rx->tcp[0..rx->tcp_len) into rx->src and
 * rx->dst. Returns 1, or 0 with rx->why when the header is cut short or
 * the destination port is not port. */
int ptcp_rawsock_rx_ports(struct ptcp_rawsock_rx *rx, uint16_t port);

/* Packets ptcp_rawsock_recv_many() reads per call, at most. */
#define PTCP_RAWSOCK_RECV_MANY 16

/* ptcp_rawsock_recv() for up to max (at most PTCP_RAWSOCK_RECV_MANY)
 * packets with one recvmmsg(2): packet k into buf[k * cap .. (k + 1) *
 * cap) and rx[k] (rx[k].tcp NULL and rx[k].why set when it was
 * discarded). Returns how many were read (1..max), or -EAGAIN when
 * nothing is waiting, -EAFNOSUPPORT, -EINVAL (max 0), or another -errno
 * from recvmmsg(2). */
int ptcp_rawsock_recv_many(struct ptcp_rawsock *rs, uint8_t family, uint8_t *buf, size_t cap,
			   unsigned max, struct ptcp_rawsock_rx *rx);

#endif
