/* IP headers, IPv4 (RFC 791) and IPv6 (RFC 8200): the parse the
 * raw-socket driver applies to every IPv4 packet it receives before the
 * engine sees the TCP part, and the headers the pcap writer synthesises
 * for segments we send (the kernel adds the real one) and, for IPv6, for
 * segments we receive (an AF_INET6 raw socket delivers the TCP segment
 * alone: the addresses and hop limit come as ancillary data, rawsock.h).
 * Pure functions over byte buffers, no sockets: tested and fuzzable.
 * Callers keep addresses in struct ptcp_endpoint, which carries the
 * family. */
#ifndef PTCP_IP_H
#define PTCP_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PTCP_IPV4_HDR_MIN 20     /* bytes, no options */
#define PTCP_IPV4_HDR_MAX 60     /* bytes, IHL 15 */
#define PTCP_IPV6_HDR 40         /* bytes, the fixed header */
#define PTCP_IPPROTO_TCP 6

struct ptcp_ipv4 {
	size_t hdr_len;            /* bytes, 20..60 (IHL * 4) */
	size_t total_len;          /* bytes, header + payload (Total Length) */
	uint8_t tos;
	uint8_t ttl;
	uint8_t proto;             /* 6 = TCP */
	uint16_t id;
	bool dont_fragment;
	bool more_fragments;
	uint16_t frag_offset;      /* in 8-byte units */
	struct ptcp_endpoint src;  /* port 0 */
	struct ptcp_endpoint dst;  /* port 0 */
	const uint8_t *payload;    /* points into the parsed buffer */
	size_t payload_len;        /* bytes, total_len - hdr_len */
};

/* Parses the IPv4 header at buf[0..len). Bytes past Total Length (link
 * padding) are ignored. The header checksum is verified.
 *
 * Returns 0, or PTCP_ERR_TRUNCATED (len < 20, < IHL * 4 or < Total
 * Length), PTCP_ERR_INVAL (version not 4, IHL < 5, Total Length shorter
 * than the header), PTCP_ERR_CHECKSUM. */
int ptcp_ipv4_parse(struct ptcp_ipv4 *ip, const uint8_t *buf, size_t len);

/* True when the packet is a fragment (offset non-zero or More Fragments
 * set): the driver does not reassemble, and a TCP header may not be
 * whole in it. */
static inline bool ptcp_ipv4_is_fragment(const struct ptcp_ipv4 *ip)
{
	return ip->more_fragments || ip->frag_offset != 0;
}

/* The Internet checksum (RFC 1071) of data[0..len), as it goes in the
 * header field; a header whose checksum field is right gives 0. */
uint16_t ptcp_ipv4_checksum(const uint8_t *data, size_t len);

/* Writes a 20-byte IPv4 header (no options, DF set, checksum filled in)
 * for a packet of payload_len bytes from src to dst into buf[0..cap).
 *
 * Returns 20, or PTCP_ERR_NOBUF (cap < 20), PTCP_ERR_INVAL (src or dst not
 * IPv4, payload_len > 65515, ttl 0). */
int ptcp_ipv4_build(uint8_t *buf, size_t cap, const struct ptcp_endpoint *src,
                    const struct ptcp_endpoint *dst, uint8_t proto, uint8_t ttl,
                    uint16_t id, size_t payload_len);

/* The fixed IPv6 header (RFC 8200 section 3). Extension headers are not
 * walked: a packet whose Next Header is not TCP is "not TCP" to us (the
 * kernel's raw socket, our only source, has processed them already). */
struct ptcp_ipv6 {
	uint8_t traffic_class;
	uint32_t flow_label;       /* 20 bits */
	size_t payload_len;        /* bytes after the fixed header (Payload
	                              Length) */
	uint8_t next_header;       /* 6 = TCP */
	uint8_t hop_limit;
	struct ptcp_endpoint src;  /* port 0 */
	struct ptcp_endpoint dst;  /* port 0 */
	const uint8_t *payload;    /* points into the parsed buffer */
};

/* Parses the IPv6 header at buf[0..len). Bytes past Payload Length (link
 * padding) are ignored.
 *
 * Returns 0, or PTCP_ERR_TRUNCATED (len < 40 or < 40 + Payload Length),
 * PTCP_ERR_INVAL (version not 6, or Payload Length 0, a jumbogram's,
 * RFC 2675, which we never send nor take). */
int ptcp_ipv6_parse(struct ptcp_ipv6 *ip, const uint8_t *buf, size_t len);

/* Writes a 40-byte IPv6 header (traffic class and flow label 0) for a
 * packet of payload_len bytes from src to dst into buf[0..cap).
 *
 * Returns 40, or PTCP_ERR_NOBUF (cap < 40), PTCP_ERR_INVAL (src or dst not
 * IPv6, payload_len 0 or > 65535, hop_limit 0). */
int ptcp_ipv6_build(uint8_t *buf, size_t cap, const struct ptcp_endpoint *src,
                    const struct ptcp_endpoint *dst, uint8_t next_header, uint8_t hop_limit,
                    size_t payload_len);

/* Finds the TCP segment in the IP packet buf[0..len), IPv4 or IPv6 by
 * its version: parses the header and keeps only whole, unfragmented TCP
 * packets. On success *tcp and *tcp_len give the segment and src/dst the
 * addresses (port 0).
 *
 * Returns 0, or the parse's error, or PTCP_ERR_INVAL for a fragment,
 * another protocol or an unknown version. *why (optional) gets a short
 * reason for a log line ("IPv4 fragment", "not TCP", "bad IPv4 header
 * checksum", ...). */
int ptcp_ip_tcp_payload(const uint8_t *buf, size_t len, struct ptcp_endpoint *src,
                        struct ptcp_endpoint *dst, const uint8_t **tcp, size_t *tcp_len,
                        const char **why);

/* The folded one's-complement sum of the TCP pseudo-header for a segment
 * of tcp_len bytes from src to dst, not complemented: IPv4's (RFC 9293
 * section 3.1) or IPv6's (RFC 8200 section 8.1) by their family. It is
 * what the checksum field of a segment holds while a kernel leaves the
 * checksum to be offloaded (CHECKSUM_PARTIAL, as in __tcp_v4_send_check).
 * Returns 0 when src and dst are not of one family, IPv4 or IPv6 (never
 * a sum: one over a non-zero protocol is not 0). */
uint16_t ptcp_tcp_pseudo_sum(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
			    size_t tcp_len);

/* True when the checksum field of tcp[0..len) holds exactly the
 * pseudo-header sum: a local kernel's CHECKSUM_PARTIAL segment, or one
 * damaged or forged to look like it. No pass over the data. False for
 * len < 20 or > 65535, or src and dst not of one family. */
bool ptcp_tcp_checksum_looks_partial(const uint8_t *tcp, size_t len,
				     const struct ptcp_endpoint *src,
				     const struct ptcp_endpoint *dst);

/* Completes a TCP checksum that this host's kernel left to be offloaded.
 *
 * A segment sent by a local kernel over veth, loopback or a bridge in
 * the same machine (network namespaces) still has CHECKSUM_PARTIAL when
 * it reaches our raw socket: its checksum field holds only the pseudo-
 * header sum, not the complement over the whole segment; no wire was
 * crossed, so the kernel itself trusts it. When the field of tcp[0..len)
 * holds that sum (ptcp_tcp_checksum_looks_partial()) and the segment does
 * not already verify, the real checksum is written into the field (one
 * pass over the segment), so that the engine's verification passes.
 *
 * Only for a segment the kernel said it sent so (csumtap.h for IPv4, the
 * raw IPv6 socket's own verification, rawsock.c): completing any other
 * would accept a damaged or forged segment, which RFC 9293 MUST-3
 * forbids.
 *
 * Returns 1 when the field was rewritten, 0 otherwise. */
int ptcp_tcp_checksum_complete(uint8_t *tcp, size_t len, const struct ptcp_endpoint *src,
                               const struct ptcp_endpoint *dst);

/* True when ep's address is in a private or link-local range, the only
 * ones a peer may name as its private endpoint for us to send SYNs to
 * (cli/rdvmode.c): IPv4 10/8, 172.16/12, 192.168/16 (RFC 1918) and
 * 169.254/16 (RFC 3927); IPv6 fc00::/7 (RFC 4193) and fe80::/10. Not
 * 100.64/10 (RFC 6598): peers behind one carrier-grade NAT reach each
 * other through its public side, which RFC 6888 REQ-9 makes it hairpin.
 * Not loopback, multicast, broadcast, 0/8 or any public address. */
bool ptcp_ip_is_private(const struct ptcp_endpoint *ep);

#endif
