/* Segmentation offload: the engine's segments as Ethernet frames on an
 * AF_PACKET socket, with a virtio_net_hdr that lets the kernel cut a
 * super-segment into MSS-sized segments (GSO) and fill in the checksums.
 *
 * The raw IPPROTO_TCP socket (rawsock.h) pays the kernel's IP output path
 * (route look-up, netfilter, the device) once per 1460-byte segment. The
 * kernel's own TCP hands 64 KiB GSO packets to the device and has them
 * cut at the last moment, by the hardware or in software, or not at all
 * on veth, which passes them whole to the receiving namespace. A packet
 * socket with PACKET_VNET_HDR lets us do the same: one send(2) carries
 * one TCP super-segment from ptcp_conn_output_gso() (up to 64 KiB) behind
 * our own Ethernet and IPv4 headers and a struct virtio_net_hdr that says
 *
 *   flags       VIRTIO_NET_HDR_F_NEEDS_CSUM: the kernel completes the TCP
 *               checksum (in software, or by the "hardware")
 *   csum_start  offset of the TCP header in the frame (14 + 20)
 *   csum_offset 16, the checksum field in the TCP header
 *   gso_type    VIRTIO_NET_HDR_GSO_TCPV4, or _NONE for one segment
 *   gso_size    payload bytes per piece (ptcp_txinfo.gso_size)
 *   hdr_len     Ethernet + IPv4 + TCP header bytes
 *
 * With NEEDS_CSUM the kernel expects what its own TCP leaves for
 * CHECKSUM_PARTIAL (__tcp_v4_send_check): the checksum field holds the
 * folded one's-complement sum of the pseudo-header (addresses, protocol,
 * and the TCP length of the whole super-segment), not complemented. The
 * GSO code (tcp_gso_segment) adjusts that sum for each piece's length and
 * adds the piece's bytes. ptcp_pktsock_frame() writes it.
 *
 * The frame goes straight to the device's queue: it does not pass the
 * sending host's routing decision, nor its netfilter hooks (OUTPUT,
 * POSTROUTING: no MASQUERADE on this host, no conntrack of what we send).
 * That is why offload is opt-in (p2ptcp --gso); see docs/driver.md.
 *
 * Only Ethernet interfaces (ARPHRD_ETHER: real NICs, veth, bridges) and
 * IPv4. Functions return 0 or a negative errno value, except the pure
 * frame helpers, which return enum ptcp_error values (error.h). */
#ifndef PTCP_PKTSOCK_H
#define PTCP_PKTSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "addr.h"

#define PTCP_PKTSOCK_VNET_LEN 10   /* struct virtio_net_hdr */
#define PTCP_PKTSOCK_ETH_LEN 14    /* destination, source, EtherType */
/* Bytes in front of the TCP header in a frame buffer: the virtio_net_hdr,
 * the Ethernet header and a 20-byte IPv4 header. */
#define PTCP_PKTSOCK_HEADROOM (PTCP_PKTSOCK_VNET_LEN + PTCP_PKTSOCK_ETH_LEN + 20)
/* Largest TCP super-segment: IPv4's Total Length is 16 bits. */
#define PTCP_PKTSOCK_TCP_MAX (65535 - 20)
/* Frames one ptcp_pktsock_send_many() hands to the kernel per call. */
#define PTCP_PKTSOCK_BATCH 8

/* What a frame to the peer needs: found by ptcp_pktsock_route(). */
struct ptcp_pktsock_path {
	int ifindex;                  /* egress interface of the route */
	char ifname[16];
	unsigned mtu;                 /* its MTU, bytes (IP packet) */
	uint8_t src_mac[6];           /* its address */
	uint8_t dst_mac[6];           /* the next hop's (neighbour table) */
	bool via_gateway;             /* next_hop is a gateway, not the peer */
	uint8_t next_hop[4];          /* IPv4, network order */
	struct ptcp_endpoint src;     /* our address (port unused) */
	struct ptcp_endpoint dst;     /* the peer's (port unused) */
	uint8_t ttl;                  /* the route's default TTL */
};

/* How the look-up went when no path came out of it. */
enum ptcp_pktsock_why {
	PTCP_PKTSOCK_OK = 0,
	PTCP_PKTSOCK_NO_NEIGH,        /* no usable neighbour entry yet */
	PTCP_PKTSOCK_NOT_ETHER,       /* egress interface is not Ethernet */
	PTCP_PKTSOCK_NOT_UNICAST,     /* local, broadcast, blackhole route... */
	PTCP_PKTSOCK_NO_ROUTE,
	PTCP_PKTSOCK_SYSTEM,          /* netlink or ioctl failed */
};

struct ptcp_pktsock {
	int fd;                       /* AF_PACKET socket, -1 when closed */
	int nl;                       /* NETLINK_ROUTE socket for look-ups */
	uint32_t nl_seq;
	struct ptcp_pktsock_path path;
	uint16_t ip_id;               /* IPv4 Identification of the next frame */
};

/* --- pure helpers (no system calls; tested) ------------------------------ */

/* The value the kernel expects in the TCP checksum field of a frame sent
 * with VIRTIO_NET_HDR_F_NEEDS_CSUM: the folded one's-complement sum (RFC
 * 1071), not complemented, of the IPv4 pseudo-header (RFC 9293 section
 * 3.1) for src, dst, protocol 6 and tcp_len, the length of the whole TCP
 * segment or super-segment. 0 for a family other than IPv4. */
uint16_t ptcp_pktsock_pseudo_sum(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
                                 size_t tcp_len);

/* Completes a frame in place. frame[PTCP_PKTSOCK_HEADROOM..+tcp_len) holds
 * a TCP segment (or a super-segment with gso_size > 0) from the engine;
 * this writes the virtio_net_hdr, the Ethernet header (path's MACs,
 * EtherType IPv4) and the IPv4 header (path's addresses, DF, ttl or the
 * path's own when 0, Identification id, header checksum) in front of it
 * and replaces the TCP checksum with ptcp_pktsock_pseudo_sum(). gso_size 0,
 * or a payload not longer than gso_size, makes a single segment
 * (VIRTIO_NET_HDR_GSO_NONE).
 *
 * Returns the frame's length (PTCP_PKTSOCK_HEADROOM + tcp_len), or
 * PTCP_ERR_INVAL (tcp_len < 20 or > PTCP_PKTSOCK_TCP_MAX, a data offset
 * past tcp_len, path not IPv4). */
int ptcp_pktsock_frame(uint8_t *frame, const struct ptcp_pktsock_path *path, size_t tcp_len,
                       uint16_t gso_size, uint16_t id, uint8_t ttl);

/* How many segments a frame made by ptcp_pktsock_frame() becomes on the
 * wire (1 for a single segment). Used to advance the IPv4 Identification
 * as the kernel does for each piece. */
unsigned ptcp_pktsock_frame_segs(const uint8_t *frame, size_t len);

/* Software segmentation, for a frame that must go out another way (the
 * raw socket, after the kernel refused offload): writes piece k (0-based)
 * of the TCP super-segment tcp[0..len), cut every gso_size payload bytes
 * as TSO cuts (RFC 9293 says nothing of it; it is what the kernel's GSO
 * does): the header repeated with the sequence number advanced by
 * k * gso_size, FIN and PSH kept on the last piece only, and a complete
 * checksum for src and dst. gso_size 0 means one piece.
 *
 * Returns the piece's length, 0 when k is past the last piece, or
 * PTCP_ERR_NOBUF (cap too small), PTCP_ERR_INVAL (malformed header). */
int ptcp_pktsock_piece(uint8_t *out, size_t cap, const uint8_t *tcp, size_t len,
                       uint16_t gso_size, unsigned k, const struct ptcp_endpoint *src,
                       const struct ptcp_endpoint *dst);

/* What a route reply carried. */
struct ptcp_pktsock_rtinfo {
	int oif;                 /* RTA_OIF, 0 if absent */
	bool has_gateway;
	uint8_t gateway[4];      /* RTA_GATEWAY */
	uint8_t type;            /* rtm_type, RTN_UNICAST for a usable route */
	unsigned mtu;            /* RTAX_MTU metric, 0 if absent */
	uint8_t hoplimit;        /* RTAX_HOPLIMIT metric, 0 if absent */
};

/* The netlink parsers below want msg aligned as a struct nlmsghdr. */

/* Parses one netlink message msg[0..len) in answer to RTM_GETROUTE: an
 * RTM_NEWROUTE for AF_INET. Returns 0, the negative errno of an
 * NLMSG_ERROR reply, or -EPROTO (malformed, unexpected type, an IPv6
 * gateway RTA_VIA). */
int ptcp_pktsock_parse_route(const void *msg, size_t len, struct ptcp_pktsock_rtinfo *rt);

/* Parses one netlink message msg[0..len) in answer to RTM_GETNEIGH. *state
 * gets ndm_state and mac the link-layer address when it is 6 bytes long
 * (*has_mac says so). Returns 0, the negative errno of an NLMSG_ERROR
 * reply (-ENOENT: no entry), or -EPROTO. */
int ptcp_pktsock_parse_neigh(const void *msg, size_t len, uint16_t *state, uint8_t mac[6],
                             bool *has_mac);

/* Parses one netlink message msg[0..len) in answer to a ctnetlink
 * IPCTNL_MSG_CT_GET: *status gets the entry's CTA_STATUS (IPS_* bits).
 * Returns 0, the negative errno of an NLMSG_ERROR reply (-ENOENT: not
 * tracked), or -EPROTO. */
int ptcp_pktsock_parse_ct(const void *msg, size_t len, uint32_t *status);

/* One message msg[0..len) of an xfrm dump (XFRM_MSG_NEWPOLICY or
 * XFRM_MSG_NEWSA) against our TCP flow from src to dst (addresses and
 * ports) leaving by interface oif. A policy applies when it is for the
 * output direction (XFRM_POLICY_OUT, whatever its action: an IPsec one, or
 * a block) and its selector covers the flow; an SA when it is for the
 * peer's address or its selector covers the flow (an SA without a
 * selector covers every flow). Returns 1 (it may apply), 0 (it does not),
 * the negative errno of an NLMSG_ERROR, or -EPROTO (malformed, another
 * type, not IPv4). */
int ptcp_pktsock_xfrm_applies(const void *msg, size_t len, const struct ptcp_endpoint *src,
                              const struct ptcp_endpoint *dst, int oif);

/* --- the socket ------------------------------------------------------------ */

/* Opens the netlink socket used for look-ups; the packet socket itself is
 * opened by ptcp_pktsock_start(). Returns 0 or -errno. */
int ptcp_pktsock_init(struct ptcp_pktsock *ps);

/* Finds the path from src to dst as the kernel would route a packet of
 * ours with SO_MARK mark: the route (RTM_GETROUTE), its interface (only
 * ARPHRD_ETHER; its MAC and MTU by SIOCGIFHWADDR, SIOCGIFMTU), and the
 * next hop's MAC from the neighbour table (RTM_GETNEIGH: an entry in a
 * valid state). *why tells which part failed.
 *
 * Returns 0 with *path filled, or -EAGAIN (no usable neighbour entry yet:
 * try again later), -ENOTSUP (not Ethernet, not a unicast route, not
 * IPv4), -ENETUNREACH, or another -errno. */
int ptcp_pktsock_route(struct ptcp_pktsock *ps, const struct ptcp_endpoint *src,
                       const struct ptcp_endpoint *dst, uint32_t mark, struct ptcp_pktsock_path *path,
                       enum ptcp_pktsock_why *why);

/* What this host's connection tracking makes of our connection from src to
 * dst, asked through ctnetlink. Our frames bypass netfilter, so conntrack
 * sees the peer's ACKs acknowledging data it never saw leave and calls
 * them INVALID, which many firewalls drop; and a NAT of this host would
 * not be applied to them at all. So: when conntrack has an entry for the
 * connection and it is not NATed, its TCP window tracking is turned off
 * for this connection only (IP_CT_TCP_FLAG_BE_LIBERAL, both directions).
 *
 * Returns 0 (tracked, now liberal), -ENOENT (not tracked: nothing to do),
 * -EXDEV (this host NATs the connection: offload must not be used), or
 * another -errno (ctnetlink not available, no CAP_NET_ADMIN). */
int ptcp_pktsock_conntrack(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst);

/* Whether this host's IPsec (xfrm) could apply to our connection from src
 * to dst (addresses and ports) leaving by interface oif: our frames
 * bypass the xfrm output path, so they would leave in the clear where the
 * kernel would have encrypted them, or pass where a policy blocks. Dumps
 * the policies and the SAs (NETLINK_XFRM) and asks
 * ptcp_pktsock_xfrm_applies() of each.
 *
 * Returns 0 (nothing applies), -EXDEV (a policy or an SA may apply:
 * offload must not be used), or another -errno (xfrm cannot be asked: no
 * CAP_NET_ADMIN, no xfrm_user in the kernel, a malformed answer). */
int ptcp_pktsock_xfrm(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst, int oif);

/* Whether this host has any IPsec (xfrm) policy or SA at all: the check
 * for offload by default, made once while the node still has
 * CAP_NET_ADMIN, before any flow is known. Returns 0 (none), -EXDEV (at
 * least one), or another -errno as ptcp_pktsock_xfrm(). */
int ptcp_pktsock_xfrm_any(void);

/* Makes the packet socket, not yet bound to an interface: AF_PACKET/
 * SOCK_RAW with protocol 0 (it sends; it receives nothing),
 * PACKET_VNET_HDR, SO_MARK mark (0: none), a large send buffer. Creating
 * it needs CAP_NET_RAW (and the forced buffer size CAP_NET_ADMIN), binding
 * it later does not: a caller that drops its capabilities makes it first
 * and puts it in ps->fd after ptcp_pktsock_init().
 *
 * Returns 0 with *fd set, or -EPERM (no CAP_NET_RAW), or another -errno. */
int ptcp_pktsock_socket(int *fd, uint32_t mark);

/* Starts sending for path: binds the packet socket (ps->fd, or a new one
 * from ptcp_pktsock_socket() with mark) to the path's interface. first_id
 * is the IPv4 Identification of the first frame.
 *
 * Returns 0, or -EPERM (no socket yet and no CAP_NET_RAW), or another
 * -errno. */
int ptcp_pktsock_start(struct ptcp_pktsock *ps, const struct ptcp_pktsock_path *path,
                       uint32_t mark, uint16_t first_id);

/* Looks the path up again (the next hop's MAC may change, the route may
 * move) and asks the kernel to treat the neighbour entry as in use
 * (NTF_USE), so that it keeps verifying it as it would for its own
 * traffic. A new MAC on the same interface and next hop is taken over.
 *
 * Returns 0, or -ENETUNREACH when the route now leaves by another
 * interface or next hop, -EAGAIN when the neighbour entry is no longer
 * valid, or another -errno as ptcp_pktsock_route(). */
int ptcp_pktsock_refresh(struct ptcp_pktsock *ps, uint32_t mark);

/* Sends n frames (each made by ptcp_pktsock_frame(), starting with its
 * virtio_net_hdr) with one sendmmsg(2).
 *
 * Returns the number the kernel took, or -errno when it took none:
 * -ENOBUFS/-EAGAIN are local drops (TCP repairs them); -EINVAL,
 * -EOPNOTSUPP, -EMSGSIZE and the like mean the kernel will not take such
 * frames. */
int ptcp_pktsock_send_many(struct ptcp_pktsock *ps, const struct iovec *frames, unsigned n);

/* Closes both sockets. Safe on a closed one, and after ptcp_pktsock_init()
 * failed. */
void ptcp_pktsock_close(struct ptcp_pktsock *ps);

#endif
