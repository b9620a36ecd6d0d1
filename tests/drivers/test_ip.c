/* Tests of the IPv4 and IPv6 header parse and build the raw-socket driver
 * and the pcap writer use (core/net/ip.c, RFC 791 section 3.1, RFC 8200
 * section 3), and of completing the TCP checksum a local kernel leaves to
 * offload, for both pseudo-headers. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "ip.h"
#include "segment.h"

static struct ptcp_endpoint ep4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct ptcp_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.family = PTCP_AF_INET;
	ep.addr[0] = a;
	ep.addr[1] = b;
	ep.addr[2] = c;
	ep.addr[3] = d;
	return ep;
}

/* [2001:db8::last], or with another first group (fe80, fd00). */
static struct ptcp_endpoint ep6(uint16_t first, uint16_t last)
{
	struct ptcp_endpoint ep;

	check_ep6(&ep, last, 0);
	ep.addr[0] = (uint8_t)(first >> 8);
	ep.addr[1] = (uint8_t)first;
	return ep;
}

/* A packet: 20-byte header from 10.0.0.1 to 10.0.0.2, then payload. */
static size_t make(uint8_t *buf, size_t payload_len, uint8_t proto)
{
	struct ptcp_endpoint s = ep4(10, 0, 0, 1), d = ep4(10, 0, 0, 2);
	size_t i;

	CHECK_INT(ptcp_ipv4_build(buf, 100, &s, &d, proto, 64, 0x1234, payload_len), 20);
	for (i = 0; i < payload_len; i++)
		buf[20 + i] = (uint8_t)(i + 1);
	return 20 + payload_len;
}

static void refresh_checksum(uint8_t *buf)
{
	size_t hl = (size_t)(buf[0] & 15) * 4;
	uint16_t c;

	buf[10] = buf[11] = 0;
	c = ptcp_ipv4_checksum(buf, hl);
	buf[10] = (uint8_t)(c >> 8);
	buf[11] = (uint8_t)c;
}

static void test_parse_valid(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;
	size_t len = make(buf, 8, PTCP_IPPROTO_TCP);

	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), 0);
	CHECK_EQ(ip.hdr_len, 20);
	CHECK_EQ(ip.total_len, 28);
	CHECK_EQ(ip.ttl, 64);
	CHECK_EQ(ip.proto, 6);
	CHECK_EQ(ip.id, 0x1234);
	CHECK(ip.dont_fragment);
	CHECK(!ptcp_ipv4_is_fragment(&ip));
	CHECK_EQ(ip.src.family, PTCP_AF_INET);
	CHECK_EQ(ip.src.addr[3], 1);
	CHECK_EQ(ip.dst.addr[3], 2);
	CHECK_EQ(ip.dst.port, 0);
	CHECK(ip.payload == buf + 20);
	CHECK_EQ(ip.payload_len, 8);
	CHECK_EQ(ip.payload[0], 1);
}

static void test_parse_ignores_link_padding(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;
	size_t len = make(buf, 4, PTCP_IPPROTO_TCP);

	memset(buf + len, 0xee, 10);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len + 10), 0);
	CHECK_EQ(ip.payload_len, 4);
}

static void test_parse_options(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;

	make(buf, 0, PTCP_IPPROTO_TCP);
	/* IHL 6: one word of options (four NOPs... as EOL padding). */
	memmove(buf + 24, buf + 20, 8);
	memset(buf + 20, 1, 4);
	buf[0] = 0x46;
	buf[3] = 32;
	refresh_checksum(buf);
	memset(buf + 24, 0xab, 8);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, 32), 0);
	CHECK_EQ(ip.hdr_len, 24);
	CHECK(ip.payload == buf + 24);
	CHECK_EQ(ip.payload_len, 8);
}

static void test_parse_short(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;
	size_t len = make(buf, 8, PTCP_IPPROTO_TCP);

	CHECK_INT(ptcp_ipv4_parse(&ip, buf, 0), PTCP_ERR_TRUNCATED);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, 19), PTCP_ERR_TRUNCATED);
	/* Total Length says 28, only 27 arrived. */
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len - 1), PTCP_ERR_TRUNCATED);
	/* IHL 15 (60 bytes) in a 28-byte packet. */
	buf[0] = 0x4f;
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), PTCP_ERR_TRUNCATED);
}

static void test_parse_bad_version_and_ihl(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;
	size_t len = make(buf, 8, PTCP_IPPROTO_TCP);

	buf[0] = 0x65;
	refresh_checksum(buf);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), PTCP_ERR_INVAL);
	buf[0] = 0x44;   /* IHL 4: shorter than the fixed header */
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), PTCP_ERR_INVAL);
}

static void test_parse_total_shorter_than_header(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;
	size_t len = make(buf, 8, PTCP_IPPROTO_TCP);

	buf[2] = 0;
	buf[3] = 19;
	refresh_checksum(buf);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), PTCP_ERR_INVAL);
	/* Exactly the header: valid, empty payload. */
	buf[3] = 20;
	refresh_checksum(buf);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), 0);
	CHECK_EQ(ip.payload_len, 0);
}

static void test_parse_bad_checksum(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;
	size_t len = make(buf, 8, PTCP_IPPROTO_TCP);

	buf[8] = 63;   /* TTL changed, checksum not */
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), PTCP_ERR_CHECKSUM);
}

static void test_fragments(void)
{
	uint8_t buf[100];
	struct ptcp_ipv4 ip;
	size_t len = make(buf, 8, PTCP_IPPROTO_TCP);

	buf[6] = 0x20;   /* MF */
	buf[7] = 0;
	refresh_checksum(buf);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), 0);
	CHECK(ip.more_fragments);
	CHECK(ptcp_ipv4_is_fragment(&ip));
	buf[6] = 0x00;
	buf[7] = 0x03;   /* offset 3 * 8 bytes, last fragment */
	refresh_checksum(buf);
	CHECK_INT(ptcp_ipv4_parse(&ip, buf, len), 0);
	CHECK(!ip.more_fragments);
	CHECK_EQ(ip.frag_offset, 3);
	CHECK(ptcp_ipv4_is_fragment(&ip));
}

static void test_build_errors(void)
{
	struct ptcp_endpoint s = ep4(10, 0, 0, 1), d = ep4(10, 0, 0, 2), six = s;
	uint8_t buf[20];

	six.family = PTCP_AF_INET6;
	CHECK_INT(ptcp_ipv4_build(buf, 19, &s, &d, 6, 64, 0, 0), PTCP_ERR_NOBUF);
	CHECK_INT(ptcp_ipv4_build(buf, 20, &six, &d, 6, 64, 0, 0), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv4_build(buf, 20, &s, &six, 6, 64, 0, 0), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv4_build(buf, 20, &s, &d, 6, 0, 0, 0), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv4_build(buf, 20, &s, &d, 6, 64, 0, 65516), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv4_build(buf, 20, &s, &d, 6, 64, 0, 65515), 20);
}

static void test_checksum_known_value(void)
{
	/* The header from RFC 1071's neighbour, the classic example:
	 * 4500 0073 0000 4000 4011 ---- c0a8 0001 c0a8 00c7 -> b861. */
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	CHECK_EQ(ptcp_ipv4_checksum(h, 20), 0xb861);
	h[10] = 0xb8;
	h[11] = 0x61;
	CHECK_EQ(ptcp_ipv4_checksum(h, 20), 0);
	/* Odd length: the last byte is the high half of a word. */
	CHECK_EQ(ptcp_ipv4_checksum((const uint8_t *)"\x01", 1), 0xfeff);
}

static void test_tcp_payload(void)
{
	uint8_t buf[100];
	struct ptcp_endpoint s, d;
	const uint8_t *tcp;
	const char *why = NULL;
	size_t tl, len;

	len = make(buf, 24, PTCP_IPPROTO_TCP);
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), 0);
	CHECK(tcp == buf + 20);
	CHECK_EQ(tl, 24);
	CHECK(why == NULL);
	CHECK_EQ(s.addr[3], 1);
	CHECK_EQ(d.addr[3], 2);

	len = make(buf, 24, 17);
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), PTCP_ERR_INVAL);
	CHECK(why && strcmp(why, "not TCP") == 0);

	len = make(buf, 24, PTCP_IPPROTO_TCP);
	buf[6] = 0x20;
	refresh_checksum(buf);
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), PTCP_ERR_INVAL);
	CHECK(why && strcmp(why, "IPv4 fragment") == 0);

	/* Version 6 is read as IPv6: here its Payload Length (the IPv4 ID
	 * 0x1234) runs past the end. */
	buf[0] = 0x60;
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), PTCP_ERR_TRUNCATED);
	CHECK(why && strcmp(why, "truncated IPv6 packet") == 0);
	buf[0] = 0x55;
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), PTCP_ERR_INVAL);

	buf[0] = 0x45;
	CHECK_INT(ptcp_ip_tcp_payload(buf, 10, &s, &d, &tcp, &tl, NULL), PTCP_ERR_TRUNCATED);
}

/* A segment as a local kernel hands it over with CHECKSUM_PARTIAL: the
 * checksum field holds the folded pseudo-header sum only. */
static size_t partial_segment(uint8_t *tcp, const struct ptcp_endpoint *s,
			      const struct ptcp_endpoint *d, uint16_t *full)
{
	struct ptcp_segment seg;
	uint8_t payload[5] = { 'h', 'e', 'l', 'l', 'o' };
	uint32_t sum;
	int n;

	memset(&seg, 0, sizeof(seg));
	seg.sport = 5000;
	seg.dport = 4000;
	seg.seq = 1000;
	seg.ack = 2000;
	seg.flags = PTCP_TH_ACK | PTCP_TH_PSH;
	seg.wnd = 512;
	seg.payload = payload;
	seg.len = sizeof(payload);
	n = ptcp_segment_emit(&seg, tcp, 80, s, d);
	CHECK(n > 0);
	*full = (uint16_t)(tcp[16] << 8 | tcp[17]);
	/* The pseudo-header's words: the addresses, the protocol and the
	 * length (IPv6's 32-bit length and next header sum the same). */
	sum = 6 + (uint32_t)n;
	for (int i = 0; i < (s->family == PTCP_AF_INET ? 4 : 16); i += 2)
		sum += (uint32_t)(s->addr[i] << 8 | s->addr[i + 1]) +
		       (uint32_t)(d->addr[i] << 8 | d->addr[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	tcp[16] = (uint8_t)(sum >> 8);
	tcp[17] = (uint8_t)sum;
	return (size_t)n;
}

static void checksum_complete(struct ptcp_endpoint s, struct ptcp_endpoint d)
{
	struct ptcp_segment seg;
	uint8_t tcp[80];
	uint16_t full;
	size_t n = partial_segment(tcp, &s, &d, &full);

	CHECK_INT(ptcp_segment_parse(&seg, tcp, n, &s, &d), PTCP_ERR_CHECKSUM);
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &s, &d), 1);
	CHECK_EQ(tcp[16] << 8 | tcp[17], full);
	CHECK_INT(ptcp_segment_parse(&seg, tcp, n, &s, &d), 0);
	CHECK_EQ(seg.len, 5);
	/* Already complete: left alone. */
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &s, &d), 0);
	CHECK_EQ(tcp[16] << 8 | tcp[17], full);
}

static void test_checksum_complete(void)
{
	checksum_complete(ep4(10, 9, 0, 2), ep4(10, 9, 0, 1));
}

/* The same over IPv6's pseudo-header (RFC 8200 section 8.1): a veth in
 * the same machine leaves the same partial sum. */
static void test_checksum_complete_ipv6(void)
{
	struct ptcp_endpoint s = ep6(0x2001, 2), d = ep6(0x2001, 1);
	uint8_t tcp[80];
	uint16_t full;
	size_t n;

	checksum_complete(s, d);
	checksum_complete(ep6(0xfe80, 0xffff), ep6(0xfd00, 0x1234));
	/* An address byte the IPv4 sum would not see changes the sum. */
	n = partial_segment(tcp, &s, &d, &full);
	d.addr[9] = 1;
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &s, &d), 0);
	d.addr[9] = 0;
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &s, &d), 1);
	CHECK_EQ(tcp[16] << 8 | tcp[17], full);
}

/* An IPv6 packet from 2001:db8::1 to 2001:db8::2 with payload_len bytes
 * after next header nh. */
static size_t make6(uint8_t *buf, size_t payload_len, uint8_t nh)
{
	struct ptcp_endpoint s = ep6(0x2001, 1), d = ep6(0x2001, 2);

	CHECK_INT(ptcp_ipv6_build(buf, 100, &s, &d, nh, 61, payload_len), PTCP_IPV6_HDR);
	for (size_t i = 0; i < payload_len; i++)
		buf[PTCP_IPV6_HDR + i] = (uint8_t)(i + 1);
	return PTCP_IPV6_HDR + payload_len;
}

static void test_ipv6_build_and_parse(void)
{
	static const uint8_t want[8] = { 0x60, 0, 0, 0, 0, 24, 6, 61 };
	struct ptcp_endpoint s = ep6(0x2001, 1), d = ep6(0x2001, 2);
	struct ptcp_ipv6 ip;
	uint8_t buf[100];
	size_t len = make6(buf, 24, PTCP_IPPROTO_TCP);

	CHECK_EQ(len, 64);
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK(memcmp(buf + 8, s.addr, 16) == 0);
	CHECK(memcmp(buf + 24, d.addr, 16) == 0);
	CHECK_INT(ptcp_ipv6_parse(&ip, buf, len), 0);
	CHECK_EQ(ip.payload_len, 24);
	CHECK_EQ(ip.next_header, 6);
	CHECK_EQ(ip.hop_limit, 61);
	CHECK_EQ(ip.traffic_class, 0);
	CHECK_EQ(ip.flow_label, 0);
	CHECK(ptcp_endpoint_equal(&ip.src, &s));
	CHECK(ptcp_endpoint_equal(&ip.dst, &d));
	CHECK(ip.payload == buf + 40);
	/* Traffic class and flow label straddle the nibbles. */
	buf[0] = 0x6a;
	buf[1] = 0xbc;
	buf[2] = 0xde;
	buf[3] = 0xf1;
	CHECK_INT(ptcp_ipv6_parse(&ip, buf, len), 0);
	CHECK_EQ(ip.traffic_class, 0xab);
	CHECK_EQ(ip.flow_label, 0xcdef1);
	/* Link padding after the payload is ignored. */
	CHECK_INT(ptcp_ipv6_parse(&ip, buf, len + 6), 0);
	CHECK_EQ(ip.payload_len, 24);
}

static void test_ipv6_parse_errors(void)
{
	struct ptcp_ipv6 ip;
	uint8_t buf[100];
	size_t len = make6(buf, 24, PTCP_IPPROTO_TCP);

	CHECK_INT(ptcp_ipv6_parse(&ip, buf, 39), PTCP_ERR_TRUNCATED);
	CHECK_INT(ptcp_ipv6_parse(&ip, buf, len - 1), PTCP_ERR_TRUNCATED);
	buf[0] = 0x45;
	CHECK_INT(ptcp_ipv6_parse(&ip, buf, len), PTCP_ERR_INVAL);
	buf[0] = 0x60;
	/* Payload Length 0: a jumbogram's (RFC 2675), never ours. */
	buf[4] = buf[5] = 0;
	CHECK_INT(ptcp_ipv6_parse(&ip, buf, len), PTCP_ERR_INVAL);
}

static void test_ipv6_build_errors(void)
{
	struct ptcp_endpoint s = ep6(0x2001, 1), d = ep6(0x2001, 2), v4 = ep4(10, 0, 0, 1);
	uint8_t buf[64];

	CHECK_INT(ptcp_ipv6_build(buf, 39, &s, &d, 6, 64, 20), PTCP_ERR_NOBUF);
	CHECK_INT(ptcp_ipv6_build(buf, 40, &v4, &d, 6, 64, 20), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv6_build(buf, 40, &s, &v4, 6, 64, 20), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv6_build(buf, 40, &s, &d, 6, 0, 20), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv6_build(buf, 40, &s, &d, 6, 64, 0), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv6_build(buf, 40, &s, &d, 6, 64, 65536), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_ipv6_build(buf, 40, &s, &d, 6, 64, 65535), PTCP_IPV6_HDR);
}

static void test_tcp_payload_ipv6(void)
{
	struct ptcp_endpoint s, d;
	const uint8_t *tcp;
	const char *why = NULL;
	uint8_t buf[100];
	size_t tl, len;

	len = make6(buf, 24, PTCP_IPPROTO_TCP);
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), 0);
	CHECK(tcp == buf + 40);
	CHECK_EQ(tl, 24);
	CHECK(why == NULL);
	CHECK_EQ(s.family, PTCP_AF_INET6);
	CHECK_EQ(s.addr[15], 1);
	CHECK_EQ(d.addr[15], 2);
	len = make6(buf, 24, 17);
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), PTCP_ERR_INVAL);
	CHECK(why && strcmp(why, "not TCP") == 0);
	len = make6(buf, 24, 44);
	CHECK_INT(ptcp_ip_tcp_payload(buf, len, &s, &d, &tcp, &tl, &why), PTCP_ERR_INVAL);
	CHECK(why && strcmp(why, "IPv6 fragment") == 0);
	CHECK_INT(ptcp_ip_tcp_payload(buf, 30, &s, &d, &tcp, &tl, &why), PTCP_ERR_TRUNCATED);
	CHECK(why && strcmp(why, "truncated IPv6 packet") == 0);
}

static void test_checksum_complete_leaves_bad_segments(void)
{
	struct ptcp_endpoint s = ep4(10, 9, 0, 2), d = ep4(10, 9, 0, 1), six = s;
	uint8_t tcp[80];
	uint16_t full;
	size_t n = partial_segment(tcp, &s, &d, &full);

	/* Wrong but not the partial sum: a corrupted segment stays bad. */
	tcp[16] ^= 0x40;
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &s, &d), 0);
	tcp[16] ^= 0x40;
	/* The partial sum for other addresses does not match. */
	d.addr[3] = 7;
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &s, &d), 0);
	d.addr[3] = 1;
	/* Too short for a TCP header, or the families differ. */
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, 19, &s, &d), 0);
	six.family = PTCP_AF_INET6;
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &six, &d), 0);
	CHECK_INT(ptcp_tcp_checksum_complete(tcp, n, &s, &d), 1);
}

static bool private4(const char *s)
{
	struct ptcp_endpoint ep;
	unsigned a, b, c, d;

	memset(&ep, 0, sizeof(ep));
	ep.family = PTCP_AF_INET;
	if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		check_fail(__FILE__, __LINE__, "bad test address '%s'", s);
	ep.addr[0] = (uint8_t)a;
	ep.addr[1] = (uint8_t)b;
	ep.addr[2] = (uint8_t)c;
	ep.addr[3] = (uint8_t)d;
	ep.port = 22;
	return ptcp_ip_is_private(&ep);
}

static bool private6(uint8_t b0, uint8_t b1)
{
	struct ptcp_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.family = PTCP_AF_INET6;
	ep.addr[0] = b0;
	ep.addr[1] = b1;
	ep.addr[15] = 1;
	return ptcp_ip_is_private(&ep);
}

/* The ranges a peer may name as its private endpoint, at their edges. */
static void test_private_ranges(void)
{
	static const char *const yes[] = {
		"10.0.0.0", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1",
		"192.168.255.255", "169.254.0.1", "169.254.255.254",
	};
	static const char *const no[] = {
		"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0", "192.167.255.255",
		"192.169.0.0", "169.253.255.255", "169.255.0.0", "100.64.0.1", "100.127.255.255",
		"127.0.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "203.0.113.77",
		"198.51.100.1", "8.8.8.8",
	};
	struct ptcp_endpoint none;
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!private4(yes[i]))
			check_fail(__FILE__, __LINE__, "%s is private", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (private4(no[i]))
			check_fail(__FILE__, __LINE__, "%s is not private", no[i]);
	CHECK(private6(0xfc, 0x00));
	CHECK(private6(0xfd, 0xff));
	CHECK(private6(0xfe, 0x80));
	CHECK(private6(0xfe, 0xbf));
	CHECK(!private6(0xfe, 0xc0));   /* fec0::/10, deprecated site-local */
	CHECK(!private6(0xfb, 0xff));
	CHECK(!private6(0x20, 0x01));   /* 2001:db8:: */
	CHECK(!private6(0xff, 0x02));   /* multicast */
	CHECK(!private6(0x00, 0x00));   /* ::1 */
	memset(&none, 0, sizeof(none));
	CHECK(!ptcp_ip_is_private(&none));
}

int main(void)
{
	RUN(test_parse_valid);
	RUN(test_parse_ignores_link_padding);
	RUN(test_parse_options);
	RUN(test_parse_short);
	RUN(test_parse_bad_version_and_ihl);
	RUN(test_parse_total_shorter_than_header);
	RUN(test_parse_bad_checksum);
	RUN(test_fragments);
	RUN(test_build_errors);
	RUN(test_checksum_known_value);
	RUN(test_tcp_payload);
	RUN(test_checksum_complete);
	RUN(test_checksum_complete_leaves_bad_segments);
	RUN(test_checksum_complete_ipv6);
	RUN(test_ipv6_build_and_parse);
	RUN(test_ipv6_parse_errors);
	RUN(test_ipv6_build_errors);
	RUN(test_tcp_payload_ipv6);
	RUN(test_private_ranges);
	return check_summary();
}
