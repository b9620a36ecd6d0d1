/* The receive ring: IPv4 segments for our port with a payload or FIN
 * through an AF_PACKET TPACKET_V2 mmap ring (PACKET_RX_RING) instead of
 * the raw socket's recvmmsg(2); the raw socket keeps the others (SYN,
 * pure ACK, RST: ptcp_rawsock_no_payload()).
 *
 * The kernel writes each packet into a frame of memory mapped into our
 * process and hands it over at once (a status word per frame; the socket
 * turns readable with the first): no copy out of the kernel and, when
 * packets come faster than the node reads them, no system call per
 * batch. A packet larger than a frame (a GRO packet of up to 64 KiB
 * where the veth's offloads are on) is queued whole to the socket as well
 * (PACKET_COPY_THRESH) and its frame, with the first bytes only, says so
 * (TP_STATUS_COPY): that one is read with recv(2), in ring order, since
 * the kernel queues the copy with its frame. The socket is SOCK_DGRAM
 * on every interface, so each packet starts with its IPv4 header (the
 * link layer is gone: Ethernet without VLAN tags is what was tried), with
 * the BPF filter of ptcp_bpf_ring() (bpf.h) attached and the host's own
 * outgoing packets ignored (PACKET_IGNORE_OUTGOING). Bound to ETH_P_IP,
 * or to ETH_P_ALL where the node puts the ring table of nftguard.h behind
 * it, so that its segments skip IP input (ptcp_rxring_open()).
 *
 * TPACKET_V3 (blocks of packets) was tried first: it hands a block over
 * only when it is full or its timeout (1 ms at least) ran out, which a
 * lone segment, a keystroke or a request, waits for (docs/driver.md).
 *
 * A packet socket sees packets before this host's netfilter, routing and
 * IP reassembly: so the node uses the ring only where offload is on by
 * default (the host has no firewall, NAT or IPsec rules of its own,
 * gso.c) and, without a local address, only where the host does not
 * forward IPv4 (a router's packet socket sees the packets it forwards as
 * PACKET_HOST); it keeps only packets of type PACKET_HOST to our port
 * (and address, when given), drops fragments (the raw socket would get
 * them reassembled) and IPv4 headers that do not parse or check. IPv6
 * stays on the raw socket.
 *
 * The kernel's checksum state comes with each packet (tp_status): one
 * that a local kernel sent with the checksum left to offload
 * (TP_STATUS_CSUMNOTREADY, what the checksum tap of csumtap.h learns for
 * the raw socket) needs no check; any other is checked by the engine. */
#ifndef PTCP_RXRING_H
#define PTCP_RXRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "rawsock.h"

#define PTCP_RXRING_FRAME 2048      /* bytes per frame: its header and an
                                       MTU-1500 packet */
#define PTCP_RXRING_FRAMES 2048     /* frames in the ring (4 MiB) */
#define PTCP_RXRING_BLOCK (64 * 1024) /* the kernel allocates the ring in
                                       blocks of this many bytes */

struct ptcp_rxring {
	int fd;                   /* -1: no ring */
	uint8_t *map;             /* PTCP_RXRING_FRAMES frames */
	struct ptcp_endpoint local;  /* ours (address 0.0.0.0: any) */
	unsigned cur;             /* the first frame not given back */
	unsigned held;            /* frames from cur on read, not yet given back */
	uint8_t *copy_buf;        /* the last packet read from the queue */
	uint64_t frames, copied;  /* packets taken; of them, read from the queue */
};

/* Sets up r with no socket (fd -1). */
void ptcp_rxring_init(struct ptcp_rxring *r);

/* Opens the ring for IPv4 segments with a payload or FIN to local (its
 * port, and its address unless 0.0.0.0); needs CAP_NET_RAW. Bound to
 * ETH_P_IP, the socket sees a packet where IP would (after the host's tc
 * and netdev ingress rules, on the last device it comes up through);
 * with all_protocols to ETH_P_ALL, which sees it first, before those
 * rules, on every device it passes (a bridge's port and the bridge): the
 * caller's to make sure that each packet is seen once and that there are
 * no such rules (netdev.h), and what makes an ingress rule behind the
 * ring possible (nftguard.h). Returns 0, or -errno of the call that
 * failed (r->fd stays -1). */
int ptcp_rxring_open(struct ptcp_rxring *r, const struct ptcp_endpoint *local, bool all_protocols);

void ptcp_rxring_close(struct ptcp_rxring *r);

/* Up to max packets that the kernel has handed over, into rx[] (as
 * ptcp_rawsock_recv_many() fills it: rx[k].tcp NULL with rx[k].why for
 * one that is not ours to take); at most one read from the queue, last.
 * Gives back the frames of the previous call first: the pointers stay
 * valid until the next call or ptcp_rxring_release(). Returns the number
 * filled, or -EAGAIN when there is nothing. */
int ptcp_rxring_recv_many(struct ptcp_rxring *r, unsigned max, struct ptcp_rawsock_rx *rx);

/* Gives the frames read so far back to the kernel (call before waiting
 * for the next). */
void ptcp_rxring_release(struct ptcp_rxring *r);

/* Whether this host (its network namespace) forwards IPv4 on some
 * interface: 1 (which names the setting that is on, e.g.
 * "net.ipv4.conf.all.forwarding"), 0 not, -1 cannot tell (no /proc/sys). */
int ptcp_rxring_host_forwards(char *which, size_t cap);

#endif
