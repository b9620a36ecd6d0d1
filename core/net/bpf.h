/* The classic BPF socket filter (SO_ATTACH_FILTER) for the raw sockets.
 *
 * A raw IPPROTO_TCP socket gets a copy of every TCP packet the host
 * receives; the filter makes the kernel hand us only the packets for our
 * local port (and local address, when it is known), so the process does
 * not wake for, copy or parse the host's other traffic.
 *
 * What the program's offsets mean depends on the socket's family:
 *   - AF_INET: the program runs on the IP packet, IPv4 header first
 *     (offset 0 is its first byte; the TCP header is at IHL * 4);
 *   - AF_INET6: the kernel has taken the IPv6 header and its extension
 *     headers off and reassembled fragments before a raw socket sees the
 *     packet (ip6_protocol_deliver_rcu pulls to the transport header), so
 *     offset 0 is the TCP header's first byte. The IPv6 header is still
 *     there for the kernel's negative offsets: SKF_NET_OFF + n loads byte
 *     n of it (the destination address is at 24). */
#ifndef PTCP_BPF_H
#define PTCP_BPF_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/filter.h>

#include "addr.h"

#define PTCP_BPF_MAX 34   /* instructions the longest program needs */

/* Writes into prog[0..cap) the program for a raw socket of local's
 * family:
 *   - IPv4: accepts TCP packets that are not non-first fragments, whose
 *     destination port is local->port and, unless local's address is
 *     0.0.0.0, whose destination address is local's;
 *   - IPv6: accepts segments whose destination port is local->port and,
 *     unless local's address is ::, whose IPv6 destination address is
 *     local's (through SKF_NET_OFF).
 * Everything else is dropped in the kernel.
 *
 * Returns the number of instructions, or PTCP_ERR_NOBUF (cap too small),
 * PTCP_ERR_INVAL (local is neither IPv4 nor IPv6). */
int ptcp_bpf_tcp_port(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local);

/* ptcp_bpf_tcp_port() for IPv4 that also keeps only the segments with a
 * payload or FIN (payload true: at least one byte after the TCP header,
 * or the FIN flag) or only the others (false: SYN, pure ACK, RST): the
 * receive ring takes the one kind and the raw socket the other
 * (rxring.h).
 *
 * Returns the number of instructions, or PTCP_ERR_NOBUF (cap too small),
 * PTCP_ERR_INVAL (local is not IPv4). */
int ptcp_bpf_tcp_port_payload(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local,
			      bool payload);

/* ptcp_bpf_tcp_port_payload(payload true) for the receive ring's packet
 * socket (rxring.h), which the kernel's own checks first: the frame's
 * protocol is IPv4 (SKF_AD_PROTOCOL: bound to ETH_P_ALL, the socket sees
 * every protocol), it carries no VLAN tag (SKF_AD_VLAN_TAG_PRESENT) and is
 * addressed to this host (SKF_AD_PKTTYPE is PACKET_HOST).
 *
 * Returns the number of instructions, or PTCP_ERR_NOBUF (cap too small),
 * PTCP_ERR_INVAL (local is not IPv4). */
int ptcp_bpf_ring(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local);

#define PTCP_BPF_PARTIAL_MAX 48   /* instructions of ptcp_bpf_partial_csum() */
/* Bytes of each packet ptcp_bpf_partial_csum() keeps: the longest IPv4
 * header (60) and the TCP header's fixed part (20). */
#define PTCP_BPF_PARTIAL_SNAP 80

/* Writes into prog[0..cap) the program for the checksum tap (csumtap.h),
 * an AF_PACKET/SOCK_DGRAM socket for IPv4, where offset 0 is the IPv4
 * header: it keeps the first PTCP_BPF_PARTIAL_SNAP bytes of the unfragmented
 * TCP packets to port whose checksum field holds exactly the folded sum of
 * the pseudo-header (RFC 9293 section 3.1: addresses, protocol, TCP
 * length): what a local kernel's CHECKSUM_PARTIAL segment carries, and
 * what a forged one that wants to pass for it carries too. It computes
 * that sum itself (classic BPF has the adds and shifts), so a host whose
 * segments come with full checksums queues next to nothing on the tap.
 *
 * Returns the number of instructions, or PTCP_ERR_NOBUF (cap too small). */
int ptcp_bpf_partial_csum(struct sock_filter *prog, size_t cap, uint16_t port);

#endif
