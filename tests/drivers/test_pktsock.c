/* Tests of the pure parts of the segmentation-offload driver
 * (core/net/pktsock.c): the frame in front of a super-segment (the
 * virtio_net_hdr fields, Ethernet and IPv4 headers), the checksum seed the
 * kernel expects with VIRTIO_NET_HDR_F_NEEDS_CSUM, software segmentation
 * for the fallback, the parse of netlink route, neighbour and conntrack
 * replies, and which xfrm policies and SAs stand in offload's way.
 *
 * The seed is checked by doing what the kernel does with it: for one
 * segment, skb_checksum_help() sums the bytes from csum_start (seed
 * included) and stores the complement; for a super-segment,
 * tcp_gso_segment() first replaces the length in the seed by each
 * piece's. Both must give checksums that ptcp_segment_parse() accepts. */
#include <errno.h>
#include <string.h>

#include <linux/neighbour.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <linux/xfrm.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "check.h"
#include "error.h"
#include "ip.h"
#include "pktsock.h"
#include "segment.h"

#define GSO 1448          /* payload per piece with timestamps, MSS 1460 */

static uint8_t frame[PTCP_PKTSOCK_HEADROOM + PTCP_PKTSOCK_TCP_MAX];
static uint8_t copy[PTCP_PKTSOCK_TCP_MAX];
static uint8_t data[PTCP_PKTSOCK_TCP_MAX];

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

static void path_init(struct ptcp_pktsock_path *p)
{
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	memset(p, 0, sizeof(*p));
	p->ifindex = 3;
	p->mtu = 1500;
	memcpy(p->src_mac, smac, 6);
	memcpy(p->dst_mac, dmac, 6);
	p->src = ep4(10, 1, 0, 2);
	p->dst = ep4(203, 0, 113, 2);
	p->ttl = 64;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A segment from path->src:40001 to path->dst:40002 into buf with
 * timestamps and payload_len bytes of a pattern, complete checksum.
 * Returns its length. */
static size_t make_tcp(uint8_t *buf, const struct ptcp_pktsock_path *p, size_t payload_len,
		       uint8_t flags)
{
	struct ptcp_endpoint s = p->src, d = p->dst;
	struct ptcp_segment seg;
	size_t i;
	int n;

	for (i = 0; i < payload_len; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	memset(&seg, 0, sizeof(seg));
	seg.sport = 40001;
	seg.dport = 40002;
	seg.seq = 0xfffff000u;    /* the pieces wrap around 2^32 */
	seg.ack = 12345;
	seg.flags = (uint8_t)(PTCP_TH_ACK | flags);
	seg.wnd = 5000;
	seg.opt.has_ts = true;
	seg.opt.ts_val = 1;
	seg.opt.ts_ecr = 2;
	seg.payload = data;
	seg.len = payload_len;
	s.port = 40001;
	d.port = 40002;
	n = ptcp_segment_emit(&seg, buf, PTCP_PKTSOCK_TCP_MAX, &s, &d);
	CHECK(n > 0);
	return n > 0 ? (size_t)n : 0;
}

static struct virtio_net_hdr vnet(void)
{
	struct virtio_net_hdr vh;

	memcpy(&vh, frame, sizeof(vh));
	return vh;
}

/* --- the seed ----------------------------------------------------------------- */

static void test_pseudo_sum_by_hand(void)
{
	struct ptcp_endpoint a = ep4(10, 0, 0, 1), b = ep4(10, 0, 0, 2), ff = ep4(255, 255, 255, 255);
	struct ptcp_endpoint v6 = a;

	/* 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 20 */
	CHECK_EQ(ptcp_pktsock_pseudo_sum(&a, &b, 20), 0x141d);
	/* 4 * 0xffff + 6 + 0xffff = 0x50001, folded 0x0006. */
	CHECK_EQ(ptcp_pktsock_pseudo_sum(&ff, &ff, 0xffff), 0x0006);
	v6.family = PTCP_AF_INET6;
	CHECK_EQ(ptcp_pktsock_pseudo_sum(&v6, &b, 20), 0);
}

/* One segment: the kernel sums from csum_start over the seed and stores
 * the complement; that must be the checksum the engine computed. */
static void test_seed_single_segment_completes(void)
{
	struct ptcp_pktsock_path p;
	struct ptcp_segment seg;
	size_t len;
	uint16_t engine_sum;
	int n;

	path_init(&p);
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, 1000, PTCP_TH_PSH);
	engine_sum = get16(frame + PTCP_PKTSOCK_HEADROOM + 16);
	n = ptcp_pktsock_frame(frame, &p, len, GSO, 7, 0);
	CHECK_INT(n, (int)(PTCP_PKTSOCK_HEADROOM + len));
	CHECK_EQ(get16(frame + PTCP_PKTSOCK_HEADROOM + 16), ptcp_pktsock_pseudo_sum(&p.src, &p.dst, len));
	CHECK(get16(frame + PTCP_PKTSOCK_HEADROOM + 16) != engine_sum);
	put16(frame + PTCP_PKTSOCK_HEADROOM + 16,
	      ptcp_ipv4_checksum(frame + PTCP_PKTSOCK_HEADROOM, len));
	CHECK_EQ(get16(frame + PTCP_PKTSOCK_HEADROOM + 16), engine_sum);
	CHECK_INT(ptcp_segment_parse(&seg, frame + PTCP_PKTSOCK_HEADROOM, len, &p.src, &p.dst), 0);
}

/* A wrong seed (say, over the length of one piece instead of the whole)
 * would not survive: the receiver's check fails. */
static void test_seed_with_wrong_length_fails(void)
{
	struct ptcp_pktsock_path p;
	struct ptcp_segment seg;
	size_t len;

	path_init(&p);
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, 1000, 0);
	put16(frame + PTCP_PKTSOCK_HEADROOM + 16, ptcp_pktsock_pseudo_sum(&p.src, &p.dst, len - 1));
	put16(frame + PTCP_PKTSOCK_HEADROOM + 16,
	      ptcp_ipv4_checksum(frame + PTCP_PKTSOCK_HEADROOM, len));
	CHECK_INT(ptcp_segment_parse(&seg, frame + PTCP_PKTSOCK_HEADROOM, len, &p.src, &p.dst),
		  PTCP_ERR_CHECKSUM);
}

/* A super-segment cut as tcp_gso_segment() cuts it: each piece's field is
 * the seed with the whole length replaced by the piece's, in one's
 * complement arithmetic (~old + new), then completed over the piece. */
static void test_seed_gso_pieces_complete(void)
{
	struct ptcp_pktsock_path p;
	struct ptcp_segment seg;
	const uint8_t *tcp = frame + PTCP_PKTSOCK_HEADROOM;
	size_t len, thl, payload, off, plen;
	uint32_t sum, seq0;
	uint16_t seed;
	unsigned k = 0;
	int rv;

	memset(&seg, 0, sizeof(seg));
	path_init(&p);
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, 10 * GSO + 100, PTCP_TH_PSH | PTCP_TH_FIN);
	CHECK(ptcp_pktsock_frame(frame, &p, len, GSO, 7, 0) > 0);
	seed = get16(tcp + 16);
	thl = (size_t)(tcp[12] >> 4) * 4;
	payload = len - thl;
	seq0 = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	for (off = 0; off < payload; off += GSO, k++) {
		plen = payload - off < GSO ? payload - off : GSO;
		memcpy(copy, tcp, thl);
		memcpy(copy + thl, tcp + thl + off, plen);
		copy[4] = (uint8_t)((seq0 + off) >> 24);
		copy[5] = (uint8_t)((seq0 + off) >> 16);
		copy[6] = (uint8_t)((seq0 + off) >> 8);
		copy[7] = (uint8_t)(seq0 + off);
		if (off + plen < payload)
			copy[13] &= (uint8_t)~(PTCP_TH_PSH | PTCP_TH_FIN);
		sum = seed + (uint16_t)~len + (uint32_t)(thl + plen);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put16(copy + 16, (uint16_t)sum);
		put16(copy + 16, ptcp_ipv4_checksum(copy, thl + plen));
		rv = ptcp_segment_parse(&seg, copy, thl + plen, &p.src, &p.dst);
		CHECK_INT(rv, 0);
		if (rv != 0)
			continue;
		CHECK_EQ(seg.seq, (uint32_t)(seq0 + off));
		CHECK_EQ(seg.len, plen);
	}
	CHECK_EQ(k, 11);
	CHECK_EQ(seg.flags & (PTCP_TH_PSH | PTCP_TH_FIN), PTCP_TH_PSH | PTCP_TH_FIN);
}

/* --- the frame ----------------------------------------------------------------- */

static void test_frame_headers_gso(void)
{
	struct ptcp_pktsock_path p;
	struct virtio_net_hdr vh;
	struct ptcp_ipv4 ip;
	size_t len;
	int n;

	path_init(&p);
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, 44 * GSO, 0);
	n = ptcp_pktsock_frame(frame, &p, len, GSO, 0xbeef, 0);
	CHECK_INT(n, (int)(PTCP_PKTSOCK_HEADROOM + len));
	vh = vnet();
	CHECK_EQ(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(vh.gso_size, GSO);
	CHECK_EQ(vh.csum_start, 14 + 20);
	CHECK_EQ(vh.csum_offset, 16);
	CHECK_EQ(vh.hdr_len, 14 + 20 + 32);
	/* Ethernet: the next hop, us, IPv4. */
	CHECK(memcmp(frame + 10, p.dst_mac, 6) == 0);
	CHECK(memcmp(frame + 16, p.src_mac, 6) == 0);
	CHECK_EQ(get16(frame + 22), 0x0800);
	CHECK_INT(ptcp_ipv4_parse(&ip, frame + 24, (size_t)n - 24), 0);
	CHECK_EQ(ip.total_len, 20 + len);
	CHECK_EQ(ip.hdr_len, 20);
	CHECK(ip.dont_fragment);
	CHECK_EQ(ip.ttl, 64);
	CHECK_EQ(ip.id, 0xbeef);
	CHECK_EQ(ip.proto, 6);
	CHECK(memcmp(ip.src.addr, p.src.addr, 4) == 0);
	CHECK(memcmp(ip.dst.addr, p.dst.addr, 4) == 0);
	CHECK_EQ(ptcp_pktsock_frame_segs(frame, (size_t)n), 44);
}

static void test_frame_single_segment(void)
{
	struct ptcp_pktsock_path p;
	struct virtio_net_hdr vh;
	struct ptcp_ipv4 ip;
	size_t len;
	int n;

	path_init(&p);
	/* Exactly one piece's worth: not a GSO packet for the kernel. */
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, GSO, 0);
	n = ptcp_pktsock_frame(frame, &p, len, GSO, 1, 0);
	CHECK(n > 0);
	vh = vnet();
	CHECK_EQ(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_EQ(vh.gso_size, 0);
	CHECK_EQ(vh.csum_start, 34);
	CHECK_EQ(vh.csum_offset, 16);
	CHECK_EQ(ptcp_pktsock_frame_segs(frame, (size_t)n), 1);
	/* A pure ACK, no payload, gso_size 0; a TTL of its own. */
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, 0, 0);
	n = ptcp_pktsock_frame(frame, &p, len, 0, 2, 3);
	CHECK_INT(n, (int)(PTCP_PKTSOCK_HEADROOM + 32));
	vh = vnet();
	CHECK_EQ(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_EQ(vh.hdr_len, 14 + 20 + 32);
	CHECK_INT(ptcp_ipv4_parse(&ip, frame + 24, (size_t)n - 24), 0);
	CHECK_EQ(ip.ttl, 3);
	CHECK_EQ(ip.total_len, 52);
}

static void test_frame_rejects(void)
{
	struct ptcp_pktsock_path p;
	size_t len;

	path_init(&p);
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, 100, 0);
	CHECK_INT(ptcp_pktsock_frame(frame, &p, PTCP_PKTSOCK_TCP_MAX + 1, GSO, 1, 0), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_pktsock_frame(frame, &p, 19, 0, 1, 0), PTCP_ERR_INVAL);
	/* Data offset 4 words is no TCP header; 8, the real one, is. */
	frame[PTCP_PKTSOCK_HEADROOM + 12] = 0x40;
	CHECK_INT(ptcp_pktsock_frame(frame, &p, len, 0, 1, 0), PTCP_ERR_INVAL);
	frame[PTCP_PKTSOCK_HEADROOM + 12] = 0x80;
	CHECK(ptcp_pktsock_frame(frame, &p, len, 0, 1, 0) > 0);
	/* Pieces larger than the interface's MTU: 20 + 32 + 1449 > 1500. */
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, 4 * GSO, 0);
	CHECK_INT(ptcp_pktsock_frame(frame, &p, len, GSO + 1, 1, 0), PTCP_ERR_INVAL);
	CHECK(ptcp_pktsock_frame(frame, &p, len, GSO, 1, 0) > 0);
	p.mtu = 0;    /* unknown: not checked */
	CHECK(ptcp_pktsock_frame(frame, &p, len, GSO + 1, 1, 0) > 0);
	p.dst.family = PTCP_AF_INET6;
	CHECK_INT(ptcp_pktsock_frame(frame, &p, len, GSO, 1, 0), PTCP_ERR_INVAL);
}

/* The largest super-segment fits an IPv4 packet. */
static void test_frame_largest(void)
{
	struct ptcp_pktsock_path p;
	struct ptcp_ipv4 ip;
	size_t len;
	int n;

	path_init(&p);
	len = make_tcp(frame + PTCP_PKTSOCK_HEADROOM, &p, PTCP_PKTSOCK_TCP_MAX - 32, 0);
	CHECK_EQ(len, PTCP_PKTSOCK_TCP_MAX);
	n = ptcp_pktsock_frame(frame, &p, len, GSO, 1, 0);
	CHECK_INT(n, (int)(PTCP_PKTSOCK_HEADROOM + PTCP_PKTSOCK_TCP_MAX));
	CHECK_INT(ptcp_ipv4_parse(&ip, frame + 24, (size_t)n - 24), 0);
	CHECK_EQ(ip.total_len, 65535);
	CHECK_EQ(ptcp_pktsock_frame_segs(frame, (size_t)n), (65483 + GSO - 1) / GSO);
}

/* --- software segmentation ------------------------------------------------------ */

static void test_piece_cuts_like_tso(void)
{
	static uint8_t out[2000], joined[8 * GSO];
	struct ptcp_pktsock_path p;
	struct ptcp_segment seg, whole;
	size_t len, got = 0;
	unsigned k;
	int n;

	path_init(&p);
	len = make_tcp(copy, &p, 3 * GSO + 500, PTCP_TH_PSH | PTCP_TH_FIN | PTCP_TH_CWR);
	CHECK_INT(ptcp_segment_parse(&whole, copy, len, &p.src, &p.dst), 0);
	for (k = 0;; k++) {
		n = ptcp_pktsock_piece(out, sizeof(out), copy, len, GSO, k, &p.src, &p.dst);
		if (n <= 0)
			break;
		if (ptcp_segment_parse(&seg, out, (size_t)n, &p.src, &p.dst) != 0) {
			CHECK(!"a piece does not parse with its checksum");
			continue;
		}
		CHECK_EQ(seg.seq, whole.seq + k * GSO);
		CHECK_EQ(seg.ack, whole.ack);
		CHECK_EQ(seg.wnd, whole.wnd);
		CHECK(seg.opt.has_ts && seg.opt.ts_val == 1 && seg.opt.ts_ecr == 2);
		CHECK_EQ(seg.len, k < 3 ? GSO : 500);
		CHECK_EQ(seg.flags & (PTCP_TH_PSH | PTCP_TH_FIN), k < 3 ? 0 : PTCP_TH_PSH | PTCP_TH_FIN);
		CHECK_EQ(seg.flags & PTCP_TH_CWR, k == 0 ? PTCP_TH_CWR : 0);
		CHECK(seg.flags & PTCP_TH_ACK);
		memcpy(joined + got, seg.payload, seg.len);
		got += seg.len;
	}
	CHECK_INT(n, 0);
	CHECK_EQ(k, 4);
	CHECK_EQ(got, whole.len);
	CHECK(memcmp(joined, whole.payload, got) == 0);
	CHECK_INT(ptcp_pktsock_piece(out, 100, copy, len, GSO, 0, &p.src, &p.dst), PTCP_ERR_NOBUF);
	CHECK_INT(ptcp_pktsock_piece(out, sizeof(out), copy, 19, GSO, 0, &p.src, &p.dst),
		  PTCP_ERR_INVAL);
}

static void test_piece_single(void)
{
	static uint8_t out[2000];
	struct ptcp_pktsock_path p;
	size_t len;

	path_init(&p);
	/* gso_size 0, or not more payload than gso_size: the segment itself. */
	len = make_tcp(copy, &p, 700, PTCP_TH_PSH);
	CHECK_INT(ptcp_pktsock_piece(out, sizeof(out), copy, len, 0, 0, &p.src, &p.dst), (int)len);
	CHECK(memcmp(out, copy, len) == 0);
	CHECK_INT(ptcp_pktsock_piece(out, sizeof(out), copy, len, 0, 1, &p.src, &p.dst), 0);
	CHECK_INT(ptcp_pktsock_piece(out, sizeof(out), copy, len, 700, 0, &p.src, &p.dst), (int)len);
	CHECK(memcmp(out, copy, len) == 0);
	/* A bare FIN (no payload) is one piece too. */
	len = make_tcp(copy, &p, 0, PTCP_TH_FIN);
	CHECK_INT(ptcp_pktsock_piece(out, sizeof(out), copy, len, GSO, 0, &p.src, &p.dst), (int)len);
	CHECK(memcmp(out, copy, len) == 0);
	CHECK_INT(ptcp_pktsock_piece(out, sizeof(out), copy, len, GSO, 1, &p.src, &p.dst), 0);
}

/* --- netlink replies ------------------------------------------------------------- */

static _Alignas(8) uint8_t msg[512];

static size_t nl_begin(uint16_t type, const void *fixed, size_t fixed_len)
{
	struct nlmsghdr nh;

	memset(msg, 0, sizeof(msg));
	memset(&nh, 0, sizeof(nh));
	nh.nlmsg_type = type;
	nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(fixed_len);
	memcpy(msg, &nh, sizeof(nh));
	memcpy(msg + NLMSG_HDRLEN, fixed, fixed_len);
	return NLMSG_ALIGN(nh.nlmsg_len);
}

static size_t nl_attr(size_t off, uint16_t type, const void *v, size_t len)
{
	struct rtattr a;
	struct nlmsghdr nh;

	a.rta_type = type;
	a.rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(msg + off, &a, sizeof(a));
	memcpy(msg + off + RTA_LENGTH(0), v, len);
	off += RTA_ALIGN(a.rta_len);
	memcpy(&nh, msg, sizeof(nh));
	nh.nlmsg_len = (uint32_t)off;
	memcpy(msg, &nh, sizeof(nh));
	return off;
}

static size_t nl_error(int err)
{
	struct nlmsgerr e;

	memset(&e, 0, sizeof(e));
	e.error = err;
	return nl_begin(NLMSG_ERROR, &e, sizeof(e));
}

static void test_parse_route(void)
{
	struct ptcp_pktsock_rtinfo rt;
	struct rtmsg rm;
	uint8_t gw[4] = { 10, 1, 0, 1 }, mx[32];
	uint32_t oif = 5, mtu = 1400, hop = 33;
	struct rtattr a;
	size_t off, m = 0;

	memset(&rm, 0, sizeof(rm));
	rm.rtm_family = AF_INET;
	rm.rtm_type = RTN_UNICAST;
	off = nl_begin(RTM_NEWROUTE, &rm, sizeof(rm));
	off = nl_attr(off, RTA_OIF, &oif, 4);
	off = nl_attr(off, RTA_GATEWAY, gw, 4);
	a.rta_type = RTAX_MTU;
	a.rta_len = RTA_LENGTH(4);
	memcpy(mx + m, &a, sizeof(a));
	memcpy(mx + m + 4, &mtu, 4);
	m += 8;
	a.rta_type = RTAX_HOPLIMIT;
	memcpy(mx + m, &a, sizeof(a));
	memcpy(mx + m + 4, &hop, 4);
	m += 8;
	off = nl_attr(off, RTA_METRICS, mx, m);
	CHECK_INT(ptcp_pktsock_parse_route(msg, off, &rt), 0);
	CHECK_EQ(rt.oif, 5);
	CHECK(rt.has_gateway);
	CHECK(memcmp(rt.gateway, gw, 4) == 0);
	CHECK_EQ(rt.type, RTN_UNICAST);
	CHECK_EQ(rt.mtu, 1400);
	CHECK_EQ(rt.hoplimit, 33);
	/* Cut short inside the last attribute. */
	CHECK_INT(ptcp_pktsock_parse_route(msg, off - 1, &rt), -EPROTO);

	/* On-link: no gateway, no metrics. */
	off = nl_begin(RTM_NEWROUTE, &rm, sizeof(rm));
	off = nl_attr(off, RTA_OIF, &oif, 4);
	CHECK_INT(ptcp_pktsock_parse_route(msg, off, &rt), 0);
	CHECK(!rt.has_gateway);
	CHECK_EQ(rt.mtu, 0);
	/* Through an IPv6 next hop: not ours to use. */
	off = nl_attr(off, RTA_VIA, gw, 4);
	CHECK_INT(ptcp_pktsock_parse_route(msg, off, &rt), -EPROTO);
	/* Another family, another message type, an error reply. */
	rm.rtm_family = AF_INET6;
	off = nl_begin(RTM_NEWROUTE, &rm, sizeof(rm));
	CHECK_INT(ptcp_pktsock_parse_route(msg, off, &rt), -EPROTO);
	rm.rtm_family = AF_INET;
	off = nl_begin(RTM_NEWLINK, &rm, sizeof(rm));
	CHECK_INT(ptcp_pktsock_parse_route(msg, off, &rt), -EPROTO);
	off = nl_error(-ENETUNREACH);
	CHECK_INT(ptcp_pktsock_parse_route(msg, off, &rt), -ENETUNREACH);
	CHECK_INT(ptcp_pktsock_parse_route(msg, 8, &rt), -EPROTO);
}

static void test_parse_neigh(void)
{
	uint8_t mac[6] = { 0 }, want[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	uint8_t dst[4] = { 10, 0, 0, 2 };
	struct ndmsg nd;
	uint16_t state = 0;
	bool has_mac = false;
	size_t off;

	memset(&nd, 0, sizeof(nd));
	nd.ndm_family = AF_INET;
	nd.ndm_state = NUD_STALE;
	off = nl_begin(RTM_NEWNEIGH, &nd, sizeof(nd));
	off = nl_attr(off, NDA_DST, dst, 4);
	off = nl_attr(off, NDA_LLADDR, want, 6);
	CHECK_INT(ptcp_pktsock_parse_neigh(msg, off, &state, mac, &has_mac), 0);
	CHECK_EQ(state, NUD_STALE);
	CHECK(has_mac);
	CHECK(memcmp(mac, want, 6) == 0);
	/* INCOMPLETE entries have no address yet. */
	nd.ndm_state = NUD_INCOMPLETE;
	off = nl_begin(RTM_NEWNEIGH, &nd, sizeof(nd));
	off = nl_attr(off, NDA_DST, dst, 4);
	CHECK_INT(ptcp_pktsock_parse_neigh(msg, off, &state, mac, &has_mac), 0);
	CHECK_EQ(state, NUD_INCOMPLETE);
	CHECK(!has_mac);
	off = nl_error(-ENOENT);
	CHECK_INT(ptcp_pktsock_parse_neigh(msg, off, &state, mac, &has_mac), -ENOENT);
}

static void test_parse_ct(void)
{
	struct nfgenmsg nf;
	/* SRC_NAT_DONE, DST_NAT_DONE, CONFIRMED, ASSURED, SEEN_REPLY: the
	 * "done" bits are set on every entry once NAT is loaded; only
	 * IPS_SRC_NAT (0x10) says the tuple was changed. */
	uint8_t be[4] = { 0, 0, 0x01, 0x8e };
	uint32_t status = 0;
	size_t off;

	memset(&nf, 0, sizeof(nf));
	nf.nfgen_family = AF_INET;
	off = nl_begin((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, &nf, sizeof(nf));
	off = nl_attr(off, CTA_STATUS, be, 4);
	CHECK_INT(ptcp_pktsock_parse_ct(msg, off, &status), 0);
	CHECK_EQ(status, 0x18e);
	CHECK(!(status & IPS_NAT_MASK));
	be[3] = 0x9e;
	off = nl_begin((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, &nf, sizeof(nf));
	off = nl_attr(off, CTA_STATUS, be, 4);
	CHECK_INT(ptcp_pktsock_parse_ct(msg, off, &status), 0);
	CHECK_EQ(status, 0x19e);
	CHECK(status & IPS_NAT_MASK);
	/* No status: not an entry we can judge. */
	off = nl_begin((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, &nf, sizeof(nf));
	CHECK_INT(ptcp_pktsock_parse_ct(msg, off, &status), -EPROTO);
	off = nl_error(-ENOENT);
	CHECK_INT(ptcp_pktsock_parse_ct(msg, off, &status), -ENOENT);
}

/* Our flow: 10.0.0.1:40001 -> 10.0.0.2:5001 by interface 3. */
static struct ptcp_endpoint flow_ep(uint8_t last, uint16_t port)
{
	return (struct ptcp_endpoint){ .family = PTCP_AF_INET, .addr = { 10, 0, 0, last }, .port = port };
}

static void sel_set(struct xfrm_selector *sel, const char *s, int plen_s, const char *d,
		    int plen_d)
{
	memset(sel, 0, sizeof(*sel));
	sel->family = AF_INET;
	inet_pton(AF_INET, s, &sel->saddr.a4);
	inet_pton(AF_INET, d, &sel->daddr.a4);
	sel->prefixlen_s = (uint8_t)plen_s;
	sel->prefixlen_d = (uint8_t)plen_d;
}

/* An XFRM_MSG_NEWPOLICY or _NEWSA with body, against our flow. */
static int xfrm_applies(uint16_t type, const void *body, size_t len)
{
	struct ptcp_endpoint src = flow_ep(1, 40001), dst = flow_ep(2, 5001);
	size_t off = nl_begin(type, body, len);

	return ptcp_pktsock_xfrm_applies(msg, off, &src, &dst, 3);
}

#define policy_applies(p) xfrm_applies(XFRM_MSG_NEWPOLICY, (p), sizeof(*(p)))
#define sa_applies(sa) xfrm_applies(XFRM_MSG_NEWSA, (sa), sizeof(*(sa)))

static void test_xfrm_policies(void)
{
	struct ptcp_endpoint src = flow_ep(1, 40001), dst = flow_ep(2, 5001);
	struct xfrm_userpolicy_info pol;
	size_t off;

	memset(&pol, 0, sizeof(pol));
	pol.dir = XFRM_POLICY_OUT;
	sel_set(&pol.sel, "10.0.0.1", 32, "10.0.0.2", 32);
	CHECK_INT(policy_applies(&pol), 1);
	pol.action = XFRM_POLICY_BLOCK;           /* a block is bypassed too */
	CHECK_INT(policy_applies(&pol), 1);
	/* wider prefixes, a wildcard, an AF_UNSPEC selector */
	sel_set(&pol.sel, "10.0.0.0", 8, "10.0.0.0", 24);
	CHECK_INT(policy_applies(&pol), 1);
	sel_set(&pol.sel, "0.0.0.0", 0, "0.0.0.0", 0);
	CHECK_INT(policy_applies(&pol), 1);
	pol.sel.family = AF_UNSPEC;
	CHECK_INT(policy_applies(&pol), 1);
	/* another destination, source, direction, family */
	sel_set(&pol.sel, "10.0.0.1", 32, "10.0.0.3", 32);
	CHECK_INT(policy_applies(&pol), 0);
	sel_set(&pol.sel, "10.0.1.0", 24, "10.0.0.2", 32);
	CHECK_INT(policy_applies(&pol), 0);
	sel_set(&pol.sel, "10.0.0.1", 32, "10.0.0.2", 32);
	pol.dir = XFRM_POLICY_IN;
	CHECK_INT(policy_applies(&pol), 0);
	pol.dir = XFRM_POLICY_FWD;
	CHECK_INT(policy_applies(&pol), 0);
	pol.dir = XFRM_POLICY_OUT;
	pol.sel.family = AF_INET6;
	CHECK_INT(policy_applies(&pol), 0);
	/* protocol, ports under their masks, interface */
	sel_set(&pol.sel, "10.0.0.1", 32, "10.0.0.2", 32);
	pol.sel.proto = 17;
	CHECK_INT(policy_applies(&pol), 0);
	pol.sel.proto = 6;
	CHECK_INT(policy_applies(&pol), 1);
	pol.sel.dport = htons(5001);
	pol.sel.dport_mask = 0xffff;
	CHECK_INT(policy_applies(&pol), 1);
	pol.sel.dport = htons(5002);
	CHECK_INT(policy_applies(&pol), 0);
	pol.sel.dport_mask = htons(0xff00);      /* 5002 & 0xff00 == 5001 & 0xff00 */
	CHECK_INT(policy_applies(&pol), 1);
	pol.sel.sport = htons(40002);
	pol.sel.sport_mask = 0xffff;
	CHECK_INT(policy_applies(&pol), 0);
	pol.sel.sport = htons(40001);
	CHECK_INT(policy_applies(&pol), 1);
	pol.sel.ifindex = 4;
	CHECK_INT(policy_applies(&pol), 0);
	pol.sel.ifindex = 3;
	CHECK_INT(policy_applies(&pol), 1);
	/* an error reply, a short message, IPv6 endpoints */
	off = nl_error(-EPERM);
	CHECK_INT(ptcp_pktsock_xfrm_applies(msg, off, &src, &dst, 3), -EPERM);
	off = nl_begin(XFRM_MSG_NEWPOLICY, &pol, sizeof(pol) - 4);
	CHECK_INT(ptcp_pktsock_xfrm_applies(msg, off, &src, &dst, 3), -EPROTO);
	off = nl_begin(RTM_NEWROUTE, &pol, sizeof(pol));
	CHECK_INT(ptcp_pktsock_xfrm_applies(msg, off, &src, &dst, 3), -EPROTO);
	src.family = PTCP_AF_INET6;
	off = nl_begin(XFRM_MSG_NEWPOLICY, &pol, sizeof(pol));
	CHECK_INT(ptcp_pktsock_xfrm_applies(msg, off, &src, &dst, 3), -EPROTO);
}

static void test_xfrm_states(void)
{
	struct xfrm_usersa_info sa;

	/* an SA for the peer, whatever its selector says */
	memset(&sa, 0, sizeof(sa));
	sa.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.2", &sa.id.daddr.a4);
	sel_set(&sa.sel, "10.9.0.0", 16, "10.9.0.0", 16);
	CHECK_INT(sa_applies(&sa), 1);
	/* a tunnel SA to a gateway, its selector covering the flow */
	inet_pton(AF_INET, "192.0.2.1", &sa.id.daddr.a4);
	sel_set(&sa.sel, "10.0.0.0", 24, "10.0.0.0", 24);
	CHECK_INT(sa_applies(&sa), 1);
	/* no selector at all: it covers every flow */
	memset(&sa.sel, 0, sizeof(sa.sel));
	CHECK_INT(sa_applies(&sa), 1);
	/* to a gateway, for other networks */
	sel_set(&sa.sel, "10.9.0.0", 16, "10.8.0.0", 16);
	CHECK_INT(sa_applies(&sa), 0);
}

int main(void)
{
	RUN(test_pseudo_sum_by_hand);
	RUN(test_seed_single_segment_completes);
	RUN(test_seed_with_wrong_length_fails);
	RUN(test_seed_gso_pieces_complete);
	RUN(test_frame_headers_gso);
	RUN(test_frame_single_segment);
	RUN(test_frame_rejects);
	RUN(test_frame_largest);
	RUN(test_piece_cuts_like_tso);
	RUN(test_piece_single);
	RUN(test_parse_route);
	RUN(test_parse_neigh);
	RUN(test_parse_ct);
	RUN(test_xfrm_policies);
	RUN(test_xfrm_states);
	return check_summary();
}
