#include <string.h>

#include "be.h"
#include "error.h"
#include "ip.h"
#include "segment.h"

static void set_ipv4(struct ptcp_endpoint *ep, const uint8_t *a)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET;
	memcpy(ep->addr, a, 4);
}

uint16_t ptcp_ipv4_checksum(const uint8_t *data, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += ptcp_get16(data + i);
	if (len & 1)
		sum += (uint32_t)data[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int ptcp_ipv4_parse(struct ptcp_ipv4 *ip, const uint8_t *buf, size_t len)
{
	size_t hdr_len, total;
	uint16_t frag;

	/* Lengths first (RFC 791 section 3.1), then the fields. */
	if (len < PTCP_IPV4_HDR_MIN)
		return PTCP_ERR_TRUNCATED;
	if (buf[0] >> 4 != 4)
		return PTCP_ERR_INVAL;
	hdr_len = (size_t)(buf[0] & 0x0f) * 4;
	if (hdr_len < PTCP_IPV4_HDR_MIN)
		return PTCP_ERR_INVAL;
	if (hdr_len > len)
		return PTCP_ERR_TRUNCATED;
	total = ptcp_get16(buf + 2);
	if (total < hdr_len)
		return PTCP_ERR_INVAL;
	if (total > len)
		return PTCP_ERR_TRUNCATED;
	if (ptcp_ipv4_checksum(buf, hdr_len) != 0)
		return PTCP_ERR_CHECKSUM;

	memset(ip, 0, sizeof(*ip));
	ip->hdr_len = hdr_len;
	ip->total_len = total;
	ip->tos = buf[1];
	ip->id = ptcp_get16(buf + 4);
	frag = ptcp_get16(buf + 6);
	ip->dont_fragment = (frag & 0x4000) != 0;
	ip->more_fragments = (frag & 0x2000) != 0;
	ip->frag_offset = frag & 0x1fff;
	ip->ttl = buf[8];
	ip->proto = buf[9];
	set_ipv4(&ip->src, buf + 12);
	set_ipv4(&ip->dst, buf + 16);
	ip->payload = buf + hdr_len;
	ip->payload_len = total - hdr_len;
	return 0;
}

int ptcp_ipv4_build(uint8_t *buf, size_t cap, const struct ptcp_endpoint *src,
                    const struct ptcp_endpoint *dst, uint8_t proto, uint8_t ttl,
                    uint16_t id, size_t payload_len)
{
	if (cap < PTCP_IPV4_HDR_MIN)
		return PTCP_ERR_NOBUF;
	if (src->family != PTCP_AF_INET || dst->family != PTCP_AF_INET || ttl == 0 ||
	    payload_len > 65535 - PTCP_IPV4_HDR_MIN)
		return PTCP_ERR_INVAL;
	buf[0] = 0x45;
	buf[1] = 0;
	ptcp_put16(buf + 2, (uint16_t)(PTCP_IPV4_HDR_MIN + payload_len));
	ptcp_put16(buf + 4, id);
	ptcp_put16(buf + 6, 0x4000);   /* DF, as Linux sends TCP (PMTU discovery) */
	buf[8] = ttl;
	buf[9] = proto;
	ptcp_put16(buf + 10, 0);
	memcpy(buf + 12, src->addr, 4);
	memcpy(buf + 16, dst->addr, 4);
	ptcp_put16(buf + 10, ptcp_ipv4_checksum(buf, PTCP_IPV4_HDR_MIN));
	return PTCP_IPV4_HDR_MIN;
}

static void set_ipv6(struct ptcp_endpoint *ep, const uint8_t *a)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET6;
	memcpy(ep->addr, a, 16);
}

int ptcp_ipv6_parse(struct ptcp_ipv6 *ip, const uint8_t *buf, size_t len)
{
	size_t plen;

	/* RFC 8200 section 3: version 4 bits, traffic class 8, flow label
	 * 20, payload length 16, next header 8, hop limit 8, addresses. */
	if (len < PTCP_IPV6_HDR)
		return PTCP_ERR_TRUNCATED;
	if (buf[0] >> 4 != 6)
		return PTCP_ERR_INVAL;
	plen = ptcp_get16(buf + 4);
	if (plen == 0)
		return PTCP_ERR_INVAL;
	if (PTCP_IPV6_HDR + plen > len)
		return PTCP_ERR_TRUNCATED;
	memset(ip, 0, sizeof(*ip));
	ip->traffic_class = (uint8_t)(buf[0] << 4 | buf[1] >> 4);
	ip->flow_label = (uint32_t)(buf[1] & 0x0f) << 16 | ptcp_get16(buf + 2);
	ip->payload_len = plen;
	ip->next_header = buf[6];
	ip->hop_limit = buf[7];
	set_ipv6(&ip->src, buf + 8);
	set_ipv6(&ip->dst, buf + 24);
	ip->payload = buf + PTCP_IPV6_HDR;
	return 0;
}

int ptcp_ipv6_build(uint8_t *buf, size_t cap, const struct ptcp_endpoint *src,
                    const struct ptcp_endpoint *dst, uint8_t next_header, uint8_t hop_limit,
                    size_t payload_len)
{
	if (cap < PTCP_IPV6_HDR)
		return PTCP_ERR_NOBUF;
	if (src->family != PTCP_AF_INET6 || dst->family != PTCP_AF_INET6 || hop_limit == 0 ||
	    payload_len == 0 || payload_len > 65535)
		return PTCP_ERR_INVAL;
	buf[0] = 0x60;
	buf[1] = buf[2] = buf[3] = 0;
	ptcp_put16(buf + 4, (uint16_t)payload_len);
	buf[6] = next_header;
	buf[7] = hop_limit;
	memcpy(buf + 8, src->addr, 16);
	memcpy(buf + 24, dst->addr, 16);
	return PTCP_IPV6_HDR;
}

static int tcp_payload6(const uint8_t *buf, size_t len, struct ptcp_endpoint *src,
                        struct ptcp_endpoint *dst, const uint8_t **tcp, size_t *tcp_len,
                        const char **why)
{
	struct ptcp_ipv6 ip;
	int rv = ptcp_ipv6_parse(&ip, buf, len);

	if (rv != 0) {
		*why = rv == PTCP_ERR_TRUNCATED ? "truncated IPv6 packet" : "malformed IPv6 header";
		return rv;
	}
	/* A fragment header (44) or any other extension header first: the
	 * TCP header is not where a plain packet has it. */
	if (ip.next_header != PTCP_IPPROTO_TCP) {
		*why = ip.next_header == 44 ? "IPv6 fragment" : "not TCP";
		return PTCP_ERR_INVAL;
	}
	*src = ip.src;
	*dst = ip.dst;
	*tcp = ip.payload;
	*tcp_len = ip.payload_len;
	*why = NULL;
	return 0;
}

int ptcp_ip_tcp_payload(const uint8_t *buf, size_t len, struct ptcp_endpoint *src,
                        struct ptcp_endpoint *dst, const uint8_t **tcp, size_t *tcp_len,
                        const char **why)
{
	struct ptcp_ipv4 ip;
	const char *dummy;
	int rv;

	if (!why)
		why = &dummy;
	if (len >= 1 && buf[0] >> 4 == 6)
		return tcp_payload6(buf, len, src, dst, tcp, tcp_len, why);
	rv = ptcp_ipv4_parse(&ip, buf, len);
	if (rv != 0) {
		*why = rv == PTCP_ERR_TRUNCATED ? "truncated IPv4 packet" :
		       rv == PTCP_ERR_CHECKSUM ? "bad IPv4 header checksum" :
		       "malformed IPv4 header";
		return rv;
	}
	if (ip.proto != PTCP_IPPROTO_TCP) {
		*why = "not TCP";
		return PTCP_ERR_INVAL;
	}
	if (ptcp_ipv4_is_fragment(&ip)) {
		*why = "IPv4 fragment";
		return PTCP_ERR_INVAL;
	}
	*src = ip.src;
	*dst = ip.dst;
	*tcp = ip.payload;
	*tcp_len = ip.payload_len;
	*why = NULL;
	return 0;
}

uint16_t ptcp_tcp_pseudo_sum(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
			    size_t tcp_len)
{
	uint32_t sum = 0;
	int i, alen;

	if (src->family != dst->family ||
	    (src->family != PTCP_AF_INET && src->family != PTCP_AF_INET6))
		return 0;
	/* The pseudo-header: addresses, then zero and protocol and the TCP
	 * length (IPv4), or the length as 32 bits, zeros and the next header
	 * (IPv6): the same sum while the length fits in 16 bits. */
	alen = src->family == PTCP_AF_INET ? 4 : 16;
	for (i = 0; i < alen; i += 2)
		sum += ptcp_get16(src->addr + i) + ptcp_get16(dst->addr + i);
	sum += PTCP_IPPROTO_TCP + (uint32_t)tcp_len;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

bool ptcp_tcp_checksum_looks_partial(const uint8_t *tcp, size_t len,
				     const struct ptcp_endpoint *src,
				     const struct ptcp_endpoint *dst)
{
	uint16_t partial;

	if (len < PTCP_TCP_HDR_MIN || len > 0xffff)
		return false;
	partial = ptcp_tcp_pseudo_sum(src, dst, len);
	return partial != 0 && ptcp_get16(tcp + 16) == partial;
}

int ptcp_tcp_checksum_complete(uint8_t *tcp, size_t len, const struct ptcp_endpoint *src,
                               const struct ptcp_endpoint *dst)
{
	uint16_t ck, field;
	uint32_t rest;

	if (!ptcp_tcp_checksum_looks_partial(tcp, len, src, dst))
		return 0;
	ck = ptcp_tcp_checksum(src, dst, tcp, len);
	if (ck == 0)
		return 0;
	/* One pass: ~ck is the sum over everything with the field as it
	 * is; less the field (adding its complement) is the sum of the
	 * rest, whose complement is the checksum (RFC 1071). */
	field = ptcp_get16(tcp + 16);
	rest = (uint32_t)(uint16_t)~ck + (uint16_t)~field;
	while (rest >> 16)
		rest = (rest & 0xffff) + (rest >> 16);
	ptcp_put16(tcp + 16, (uint16_t)~rest);
	return 1;
}

bool ptcp_ip_is_private(const struct ptcp_endpoint *ep)
{
	const uint8_t *a = ep->addr;

	if (ep->family == PTCP_AF_INET)
		return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		       (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254);
	if (ep->family == PTCP_AF_INET6)
		return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	return false;
}
