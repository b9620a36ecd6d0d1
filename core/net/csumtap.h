/* The checksum tap: which IPv4 segments this host's own kernel left with
 * their TCP checksum to be completed (CHECKSUM_PARTIAL).
 *
 * A segment that a kernel on the same machine sends through veth,
 * loopback or a bridge (every namespace lab, with the veth's transmit
 * offloads on) reaches our raw socket with the checksum field holding
 * only the folded pseudo-header sum: no wire was crossed, and the kernel
 * itself trusts it. A segment from anywhere else that carries that value
 * and does not verify is damaged or forged, and RFC 9293 MUST-3 says to
 * drop it. A raw IPv4 socket cannot tell the two apart; the kernel's mark
 * (skb->ip_summed) is visible only on a packet socket, as
 * TP_STATUS_CSUMNOTREADY in PACKET_AUXDATA.
 *
 * So the tap is an AF_PACKET/SOCK_DGRAM socket for IPv4 whose BPF filter
 * (ptcp_bpf_partial_csum(), bpf.h) keeps only the headers of our port's
 * segments whose field holds exactly the pseudo-header sum. Segments stay
 * on the raw socket (after this host's netfilter, as before); the tap
 * only vouches. The device layer hands a packet to the tap before the IP
 * layer hands it to the raw socket, in the same softirq, so when the raw
 * socket delivers a segment its tap record, if any, is already queued:
 * ptcp_csumtap_vouches() reads what is queued and looks for a record of
 * the same IPv4 and TCP header that the kernel marked CSUMNOTREADY.
 * IPv6 needs no tap: the raw IPv6 socket verifies checksums in the kernel
 * (IPV6_CHECKSUM, rawsock.c), where a CHECKSUM_PARTIAL segment counts as
 * verified.
 *
 * What does not vouch: a tap that could not be opened or whose queue
 * overflowed (then TCP repairs the drop), a segment this host NATs on its
 * way in (the tap saw it before the rewrite; not a case of ours: the
 * node runs on the host that owns the address). */
#ifndef PTCP_CSUMTAP_H
#define PTCP_CSUMTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf.h"

/* Records kept: more than the raw socket's queue holds of segments a
 * local kernel sent with partial checksums between two reads. */
#define PTCP_CSUMTAP_RECS 512

struct ptcp_csumtap_rec {
	uint8_t len;                          /* bytes in hdr, 0: free */
	uint8_t hdr[PTCP_BPF_PARTIAL_SNAP];   /* IPv4 header and TCP's first 20 */
};

struct ptcp_csumtap {
	int fd;                               /* -1: no tap, nothing vouched */
	unsigned next;                        /* where the next record goes */
	uint64_t vouched;                     /* segments vouched for */
	uint64_t refused;                     /* partial-looking ones not */
	struct ptcp_csumtap_rec recs[PTCP_CSUMTAP_RECS];
};

/* Sets up t with no socket (fd -1, nothing recorded). */
void ptcp_csumtap_init(struct ptcp_csumtap *t);

/* Opens the tap for IPv4 segments to port (needs CAP_NET_RAW): the packet
 * socket, PACKET_AUXDATA, the filter, a receive buffer raised so that a
 * burst does not overflow it. Returns 0 or -errno (t->fd stays -1). */
int ptcp_csumtap_open(struct ptcp_csumtap *t, uint16_t port);

void ptcp_csumtap_close(struct ptcp_csumtap *t);

/* Keeps the record of one packet the tap read: hdr[0..len) (IPv4 header
 * and the start of TCP's), when the kernel marked it partial. Only the
 * IPv4 header and the TCP header's first 20 bytes are kept. Pure: the
 * tests feed it directly. */
void ptcp_csumtap_note(struct ptcp_csumtap *t, const uint8_t *hdr, size_t len, bool partial);

/* True when a record matches the IPv4 packet ip[0..len) (its IPv4 header
 * and the first 20 bytes of its TCP header, byte for byte); the record is
 * used up. Pure. */
bool ptcp_csumtap_match(struct ptcp_csumtap *t, const uint8_t *ip, size_t len);

/* Whether this host's kernel sent the IPv4 packet ip[0..len) with its TCP
 * checksum left to be completed: a record matches, first among those
 * kept, else after reading what the tap has queued. Counts the answer in
 * t->vouched or t->refused. */
bool ptcp_csumtap_vouches(struct ptcp_csumtap *t, const uint8_t *ip, size_t len);

#endif
