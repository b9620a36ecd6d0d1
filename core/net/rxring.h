/* The receive ring: IPv4 segments for our port with a payload or FIN
 * through an AF_PACKET TPACKET_V3 mmap ring (PACKET_RX_RING) instead of
 * the raw socket's recvmmsg(2); the raw socket keeps the others (SYN,
 * pure ACK, RST), which a block waiting for its timeout would hold back
 * (ptcp_rawsock_no_payload()).
 *
 * The kernel writes each packet into a block of memory mapped into our
 * process, and hands a block over when it is full or when it has been
 * open for PTCP_RXRING_TIMEOUT_MS: no copy out of the kernel and no system
 * call per batch, one wakeup per block. The socket is SOCK_DGRAM bound to
 * ETH_P_IP on every interface, so offset 0 of each packet is its IPv4
 * header (the link layer is gone: Ethernet without VLAN tags is what was
 * tried), with the BPF filter of ptcp_bpf_tcp_port_payload() (bpf.h)
 * attached and the host's own outgoing packets ignored
 * (PACKET_IGNORE_OUTGOING).
 *
 * A packet socket sees packets before this host's netfilter, routing and
 * IP reassembly: so the node uses the ring only where offload is on by
 * default (the host has no firewall, NAT or IPsec rules of its own,
 * gso.c), keeps only packets of type PACKET_HOST, drops fragments (the
 * raw socket would get them reassembled) and IPv4 headers that do not
 * parse or check. IPv6 stays on the raw socket.
 *
 * The kernel's checksum state comes with each packet (tp_status): one
 * that a local kernel sent with the checksum left to offload
 * (TP_STATUS_CSUMNOTREADY, what the checksum tap of csumtap.h learns for
 * the raw socket) needs no check; any other is checked by the engine. */
#ifndef PTCP_RXRING_H
#define PTCP_RXRING_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "rawsock.h"

#define PTCP_RXRING_BLOCK (128 * 1024)   /* bytes per block: holds a 64 KiB
                                            GRO packet and its header */
#define PTCP_RXRING_BLOCKS 32            /* blocks in the ring (4 MiB) */
#define PTCP_RXRING_TIMEOUT_MS 1         /* a block not yet full is handed
                                            over after this long */

struct ptcp_rxring {
	int fd;                   /* -1: no ring */
	uint8_t *map;             /* PTCP_RXRING_BLOCKS blocks */
	size_t map_len;
	uint16_t port;            /* ours */
	unsigned cur;             /* the block read next */
	unsigned left;            /* packets of block cur not yet read, while held */
	uint8_t *pkt;             /* the next of them */
	int held;                 /* block cur is ours (being read) */
};

/* Sets up r with no socket (fd -1). */
void ptcp_rxring_init(struct ptcp_rxring *r);

/* Opens the ring for IPv4 segments with a payload or FIN to local (its
 * port, and its address unless 0.0.0.0); needs CAP_NET_RAW. Returns 0, or -errno of the call
 * that failed (r->fd stays -1). */
int ptcp_rxring_open(struct ptcp_rxring *r, const struct ptcp_endpoint *local);

void ptcp_rxring_close(struct ptcp_rxring *r);

/* Up to max packets that the kernel has handed over, into rx[] (as
 * ptcp_rawsock_recv_many() fills it: rx[k].tcp NULL with rx[k].why for
 * one that is not ours to take). The pointers stay valid until the next
 * call or ptcp_rxring_release(). Returns the number filled, or -EAGAIN
 * when there is nothing. */
int ptcp_rxring_recv_many(struct ptcp_rxring *r, unsigned max, struct ptcp_rawsock_rx *rx);

/* Gives the block being read back to the kernel once it has been read to
 * its end (call before waiting for the next). */
void ptcp_rxring_release(struct ptcp_rxring *r);

#endif
