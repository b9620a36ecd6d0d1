/* Tests of the raw sockets' BPF filter (core/net/bpf.c), run without
 * privileges on the same bytes a raw IPPROTO_TCP socket sees: for IPv4 in
 * libpcap's userspace interpreter of classic BPF (the IP header first);
 * for IPv6, where the program sees the TCP header at 0 and the IPv6
 * header only through the kernel's SKF_NET_OFF (bpf.h), in a small
 * interpreter here that does what the kernel's does with those offsets
 * (libpcap has no negative offsets). The interpreter is checked against
 * libpcap on the IPv4 programs. */
#include <string.h>

#include <linux/if_packet.h>
#include <pcap/pcap.h>

#include "bpf.h"
#include "check.h"
#include "error.h"
#include "ip.h"

static struct ptcp_endpoint ep4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct ptcp_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.family = PTCP_AF_INET;
	ep.addr[0] = a;
	ep.addr[1] = b;
	ep.addr[2] = c;
	ep.addr[3] = d;
	ep.port = port;
	return ep;
}

/* IPv4 + a 20-byte TCP header from 10.0.0.9:sport to dst:dport. */
static size_t packet(uint8_t *buf, const struct ptcp_endpoint *dst, uint16_t sport,
		     uint16_t dport, uint8_t proto)
{
	struct ptcp_endpoint src = ep4(10, 0, 0, 9, 0);

	CHECK_INT(ptcp_ipv4_build(buf, 20, &src, dst, proto, 64, 1, 20), 20);
	memset(buf + 20, 0, 20);
	buf[20] = (uint8_t)(sport >> 8);
	buf[21] = (uint8_t)sport;
	buf[22] = (uint8_t)(dport >> 8);
	buf[23] = (uint8_t)dport;
	buf[32] = 0x50;
	return 40;
}

/* Runs prog on pkt: non-zero means the kernel would deliver it. */
static unsigned run(const struct sock_filter *prog, int n, const uint8_t *pkt, size_t len)
{
	struct bpf_insn insns[PTCP_BPF_PARTIAL_MAX];
	int i;

	/* struct sock_filter and struct bpf_insn are the same classic BPF
	 * instruction: code, jt, jf, k. */
	CHECK(n <= PTCP_BPF_PARTIAL_MAX);
	for (i = 0; i < n; i++) {
		insns[i].code = prog[i].code;
		insns[i].jt = prog[i].jt;
		insns[i].jf = prog[i].jf;
		insns[i].k = prog[i].k;
	}
	CHECK(bpf_validate(insns, n));
	return bpf_filter(insns, pkt, (u_int)len, (u_int)len);
}

/* Loads size bytes big-endian at k as the kernel does: from the network
 * header for k >= SKF_NET_OFF (negative as an int), else from the data;
 * out of bounds fails. */
static bool load(uint32_t k, unsigned size, const uint8_t *net, size_t net_len,
		 const uint8_t *data, size_t data_len, uint32_t *v)
{
	const uint8_t *b = data;
	size_t len = data_len, off = k;

	if ((int32_t)k < 0) {
		if ((int32_t)k < SKF_NET_OFF)
			return false;   /* the link layer and ancillary data: unused */
		off = (size_t)((int32_t)k - SKF_NET_OFF);
		b = net;
		len = net_len;
	}
	if (off + size > len)
		return false;
	*v = 0;
	for (unsigned i = 0; i < size; i++)
		*v = *v << 8 | b[off + i];
	return true;
}

/* What the kernel's ancillary loads (SKF_AD_OFF + SKF_AD_*) give
 * kernel_run(): a packet socket's view of the frame. */
static struct {
	uint32_t protocol, vlan_tag_present, pkttype;
} anc = { 0x0800, 0, PACKET_HOST };

static bool ancillary(uint32_t k, uint32_t *v)
{
	switch ((int32_t)k - SKF_AD_OFF) {
	case SKF_AD_PROTOCOL:
		*v = anc.protocol;
		return true;
	case SKF_AD_VLAN_TAG_PRESENT:
		*v = anc.vlan_tag_present;
		return true;
	case SKF_AD_PKTTYPE:
		*v = anc.pkttype;
		return true;
	}
	return false;
}

/* The classic BPF the programs use, on data with the network header at
 * net: what a socket filter returns (0: dropped). */
static unsigned kernel_run(const struct sock_filter *prog, int n, const uint8_t *net,
			   size_t net_len, const uint8_t *data, size_t data_len)
{
	uint32_t a = 0, x = 0, v, mem[BPF_MEMWORDS] = { 0 };
	int pc;

	for (pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &prog[pc];
		unsigned size = BPF_SIZE(f->code) == BPF_W ? 4 : BPF_SIZE(f->code) == BPF_H ? 2 : 1;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
		case BPF_LD | BPF_H | BPF_ABS:
		case BPF_LD | BPF_B | BPF_ABS:
			if ((int32_t)f->k < 0 && (int32_t)f->k >= SKF_AD_OFF) {
				if (!ancillary(f->k, &a))
					return 0;
				break;
			}
			if (!load(f->k, size, net, net_len, data, data_len, &a))
				return 0;
			break;
		case BPF_LD | BPF_H | BPF_IND:
		case BPF_LD | BPF_B | BPF_IND:
			if (!load(x + f->k, size, net, net_len, data, data_len, &a))
				return 0;
			break;
		case BPF_LD | BPF_MEM:
			a = mem[f->k];
			break;
		case BPF_ST:
			mem[f->k] = a;
			break;
		case BPF_MISC | BPF_TAX:
			x = a;
			break;
		case BPF_ALU | BPF_SUB | BPF_X:
			a -= x;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			a >>= f->k;
			break;
		case BPF_JMP | BPF_JGT | BPF_X:
			pc += a > x ? f->jt : f->jf;
			break;
		case BPF_LDX | BPF_B | BPF_MSH:
			if (!load(f->k, 1, net, net_len, data, data_len, &v))
				return 0;
			x = (v & 0xf) * 4;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & f->k) ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			check_fail(__FILE__, __LINE__, "instruction %d: code 0x%x not interpreted", pc,
				   f->code);
			return 0;
		}
	}
	check_fail(__FILE__, __LINE__, "the program runs off its end");
	return 0;
}

static struct ptcp_endpoint ep6(uint16_t last, uint16_t port)
{
	struct ptcp_endpoint ep;

	return *check_ep6(&ep, last, port);
}

/* What an AF_INET6 raw socket's filter sees of a segment from
 * [2001:db8::9]:sport to dst:dport: the IPv6 header in net[0..40), the
 * TCP header (20 bytes) as the data. */
static void segment6(uint8_t *net, uint8_t *tcp, const struct ptcp_endpoint *dst, uint16_t sport,
		     uint16_t dport)
{
	struct ptcp_endpoint src = ep6(9, 0);

	CHECK_INT(ptcp_ipv6_build(net, 40, &src, dst, 6, 64, 20), 40);
	memset(tcp, 0, 20);
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[12] = 0x50;
}

static int build(struct sock_filter *prog, const struct ptcp_endpoint *local)
{
	int n = ptcp_bpf_tcp_port(prog, PTCP_BPF_MAX, local);

	CHECK(n > 0);
	return n;
}

static void test_accepts_our_port(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	int n = build(prog, &local);
	size_t len = packet(pkt, &local, 5000, 4000, 6);

	CHECK(run(prog, n, pkt, len) != 0);
	len = packet(pkt, &local, 4000, 4001, 6);
	CHECK_EQ(run(prog, n, pkt, len), 0);
	/* Our port as the source is someone else's segment. */
	len = packet(pkt, &local, 4000, 5000, 6);
	CHECK_EQ(run(prog, n, pkt, len), 0);
}

static void test_checks_destination_address(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct ptcp_endpoint other = ep4(10, 0, 0, 2, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	int n = build(prog, &local);
	size_t len = packet(pkt, &other, 5000, 4000, 6);

	CHECK_EQ(run(prog, n, pkt, len), 0);
}

static void test_any_address(void)
{
	struct ptcp_endpoint any = ep4(0, 0, 0, 0, 4000);
	struct ptcp_endpoint a = ep4(10, 0, 0, 1, 4000), b = ep4(192, 0, 2, 7, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	int n = build(prog, &any);

	CHECK(run(prog, n, pkt, packet(pkt, &a, 1, 4000, 6)) != 0);
	CHECK(run(prog, n, pkt, packet(pkt, &b, 1, 4000, 6)) != 0);
	CHECK_EQ(run(prog, n, pkt, packet(pkt, &b, 1, 4001, 6)), 0);
}

static void test_other_protocol(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	int n = build(prog, &local);

	/* A UDP datagram whose destination port sits where TCP's would. */
	CHECK_EQ(run(prog, n, pkt, packet(pkt, &local, 5000, 4000, 17)), 0);
}

static void test_ip_options_move_the_port(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	int n = build(prog, &local);
	size_t len = packet(pkt, &local, 5000, 4001, 6);

	/* IHL 6: the TCP header moves 4 bytes; at its new place the
	 * destination port is 4000, at the old place it is 4001. */
	memmove(pkt + 24, pkt + 20, 20);
	memset(pkt + 20, 1, 4);
	pkt[0] = 0x46;
	pkt[26] = 4000 >> 8;
	pkt[27] = 4000 & 0xff;
	pkt[22] = 4001 >> 8;
	pkt[23] = 4001 & 0xff;
	CHECK(run(prog, n, pkt, len + 4) != 0);
	pkt[0] = 0x45;
	CHECK_EQ(run(prog, n, pkt, len + 4), 0);
}

static void test_fragments(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	int n = build(prog, &local);
	size_t len = packet(pkt, &local, 5000, 4000, 6);

	pkt[7] = 1;   /* offset 8 bytes: no TCP header here */
	CHECK_EQ(run(prog, n, pkt, len), 0);
	pkt[6] = 0x20;   /* MF with offset 0: the first fragment has it */
	pkt[7] = 0;
	CHECK(run(prog, n, pkt, len) != 0);
}

static void test_short_and_ipv6(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	int n = build(prog, &local);
	size_t len = packet(pkt, &local, 5000, 4000, 6);

	/* The port lies past the end: the load fails, the packet drops. */
	CHECK_EQ(run(prog, n, pkt, 22), 0);
	pkt[0] = 0x65;
	CHECK_EQ(run(prog, n, pkt, len), 0);
}

static void test_errors(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct sock_filter prog[PTCP_BPF_MAX];

	CHECK_INT(ptcp_bpf_tcp_port(prog, 3, &local), PTCP_ERR_NOBUF);
	local.family = PTCP_AF_NONE;
	CHECK_INT(ptcp_bpf_tcp_port(prog, PTCP_BPF_MAX, &local), PTCP_ERR_INVAL);
	local = ep6(1, 4000);
	CHECK_INT(ptcp_bpf_tcp_port(prog, 11, &local), PTCP_ERR_NOBUF);
	CHECK_INT(ptcp_bpf_tcp_port(prog, 12, &local), 12);
}

/* The receive ring's split (rxring.h): the ring's program keeps our
 * port's segments with a payload or FIN, the raw socket's the others;
 * each segment goes to exactly one, whatever its IP options and data
 * offset. */
static void test_payload_split(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct ptcp_endpoint src = ep4(10, 0, 0, 9, 0);
	struct sock_filter with[PTCP_BPF_MAX], without[PTCP_BPF_MAX];
	int nw = ptcp_bpf_tcp_port_payload(with, PTCP_BPF_MAX, &local, true);
	int no = ptcp_bpf_tcp_port_payload(without, PTCP_BPF_MAX, &local, false);
	uint8_t pkt[128];

	CHECK(nw > 0 && no > 0);
	for (size_t ihl = 20; ihl <= 24; ihl += 4)
		for (uint8_t doff = 5; doff <= 8; doff++)
			for (size_t data = 0; data <= 3; data++) {
				size_t tcp = (size_t)doff * 4 + data;

				memset(pkt, 0, sizeof(pkt));
				CHECK_INT(ptcp_ipv4_build(pkt, 20, &src, &local, 6, 64, 1, tcp), 20);
				if (ihl == 24) {
					/* one option word (zeros): 4 more header bytes */
					pkt[0] = 0x46;
					pkt[3] = (uint8_t)(pkt[3] + 4);
				}
				pkt[ihl + 2] = 4000 >> 8;
				pkt[ihl + 3] = 4000 & 0xff;
				/* the low bits of byte 12 (reserved, AE) do not count */
				pkt[ihl + 12] = (uint8_t)(doff << 4 | 0x0f);
				CHECK_EQ(run(with, nw, pkt, ihl + tcp) != 0, data > 0);
				CHECK_EQ(run(without, no, pkt, ihl + tcp) != 0, data == 0);
				/* A FIN goes with the data, also without any:
				 * the ring's. */
				pkt[ihl + 13] = 0x11;
				CHECK(run(with, nw, pkt, ihl + tcp) != 0);
				CHECK_EQ(run(without, no, pkt, ihl + tcp), 0);
				pkt[ihl + 13] = 0x10;
				CHECK_EQ(run(with, nw, pkt, ihl + tcp) != 0, data > 0);
			}
	/* Not our port: neither. */
	(void)packet(pkt, &local, 5000, 4001, 6);
	CHECK_EQ(run(with, nw, pkt, 40), 0);
	CHECK_EQ(run(without, no, pkt, 40), 0);
	local = ep6(1, 4000);
	CHECK_INT(ptcp_bpf_tcp_port_payload(with, PTCP_BPF_MAX, &local, true), PTCP_ERR_INVAL);
}

/* The ring's program (ptcp_bpf_ring()) keeps what the payload program
 * keeps, and only for IPv4 frames without a VLAN tag addressed to this
 * host: the kernel's view of each (SKF_AD_*) is checked before a byte. */
static void test_ring_program(void)
{
	struct ptcp_endpoint local = ep4(10, 0, 0, 1, 4000);
	struct ptcp_endpoint src = ep4(10, 0, 0, 9, 0);
	struct sock_filter with[PTCP_BPF_MAX], ring[PTCP_BPF_MAX];
	int nw = ptcp_bpf_tcp_port_payload(with, PTCP_BPF_MAX, &local, true);
	int nr = ptcp_bpf_ring(ring, PTCP_BPF_MAX, &local);
	static const uint32_t others[] = { PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST,
					   PACKET_OUTGOING };
	uint8_t pkt[128];
	unsigned kept = 0;

	CHECK(nw > 0 && nr > nw);
	for (size_t data = 0; data <= 2; data++)
		for (uint8_t flags = 0x10; flags <= 0x11; flags++) {
			size_t len = 40 + data;

			memset(pkt, 0, sizeof(pkt));
			CHECK_INT(ptcp_ipv4_build(pkt, 20, &src, &local, 6, 64, 1, 20 + data), 20);
			pkt[22] = 4000 >> 8;
			pkt[23] = 4000 & 0xff;
			pkt[32] = 0x50;
			pkt[33] = flags;
			/* The interpreter here agrees with libpcap's on the
			 * payload program, then the ring's is judged by it. */
			CHECK_EQ(kernel_run(with, nw, pkt, len, pkt, len) != 0,
				 run(with, nw, pkt, len) != 0);
			CHECK_EQ(kernel_run(ring, nr, pkt, len, pkt, len) != 0,
				 run(with, nw, pkt, len) != 0);
			kept += kernel_run(ring, nr, pkt, len, pkt, len) != 0;
			/* Not IPv4 by the frame (the bytes say IPv4). */
			anc.protocol = 0x86dd;
			CHECK_EQ(kernel_run(ring, nr, pkt, len, pkt, len), 0);
			anc.protocol = 0x0806;
			CHECK_EQ(kernel_run(ring, nr, pkt, len, pkt, len), 0);
			anc.protocol = 0x0800;
			anc.vlan_tag_present = 1;
			CHECK_EQ(kernel_run(ring, nr, pkt, len, pkt, len), 0);
			anc.vlan_tag_present = 0;
			for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
				anc.pkttype = others[i];
				CHECK_EQ(kernel_run(ring, nr, pkt, len, pkt, len), 0);
			}
			anc.pkttype = PACKET_HOST;
		}
	/* data 1 and 2 with and without FIN, and the FIN alone */
	CHECK_INT(kept, 5);
	CHECK_INT(ptcp_bpf_ring(ring, (size_t)nr - 1, &local), PTCP_ERR_NOBUF);
	local = ep6(1, 4000);
	CHECK_INT(ptcp_bpf_ring(ring, PTCP_BPF_MAX, &local), PTCP_ERR_INVAL);
}

/* The interpreter above agrees with libpcap's on the IPv4 programs, where
 * the data is the IP packet and SKF_NET_OFF is never used. */
static void test_interpreter_matches_libpcap(void)
{
	struct ptcp_endpoint locals[2] = { ep4(10, 0, 0, 1, 4000), ep4(0, 0, 0, 0, 4000) };
	struct ptcp_endpoint dsts[2] = { ep4(10, 0, 0, 1, 0), ep4(10, 0, 0, 2, 0) };
	static const uint16_t ports[2] = { 4000, 4001 };
	static const uint8_t protos[2] = { 6, 17 };
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t pkt[64];
	unsigned agree = 0;

	for (int l = 0; l < 2; l++) {
		int n = build(prog, &locals[l]);

		for (int d = 0; d < 2; d++)
			for (int p = 0; p < 2; p++)
				for (int q = 0; q < 2; q++)
					for (size_t len = 20; len <= 40; len += 2) {
						(void)packet(pkt, &dsts[d], 5000, ports[p], protos[q]);
						CHECK_EQ(kernel_run(prog, n, pkt, len, pkt, len) != 0,
							 run(prog, n, pkt, len) != 0);
						agree++;
					}
	}
	CHECK_EQ(agree, 2 * 2 * 2 * 2 * 11);
}

static void test_ipv6_port(void)
{
	struct ptcp_endpoint any = ep6(0, 4000), dst = ep6(1, 0);
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t net[40], tcp[20];
	int n;

	any.addr[0] = any.addr[1] = any.addr[2] = any.addr[3] = 0;
	n = build(prog, &any);
	segment6(net, tcp, &dst, 5000, 4000);
	CHECK(kernel_run(prog, n, net, 40, tcp, 20) != 0);
	/* Any destination address, while ours is not known. */
	dst = ep6(0x77, 0);
	segment6(net, tcp, &dst, 5000, 4000);
	CHECK(kernel_run(prog, n, net, 40, tcp, 20) != 0);
	/* Another port, or our port as the source. */
	segment6(net, tcp, &dst, 5000, 4001);
	CHECK_EQ(kernel_run(prog, n, net, 40, tcp, 20), 0);
	segment6(net, tcp, &dst, 4000, 5000);
	CHECK_EQ(kernel_run(prog, n, net, 40, tcp, 20), 0);
	/* The port is at 2 of the data, not behind an IPv6 header: a program
	 * that looked 40 bytes in would find nothing in a 20-byte segment. */
	segment6(net, tcp, &dst, 5000, 4000);
	CHECK(kernel_run(prog, n, net, 0, tcp, 4) != 0);
	CHECK_EQ(kernel_run(prog, n, net, 40, tcp, 3), 0);
}

static void test_ipv6_destination_address(void)
{
	struct ptcp_endpoint local = ep6(1, 4000), other;
	struct sock_filter prog[PTCP_BPF_MAX];
	uint8_t net[40], tcp[20];
	int n = build(prog, &local), k;

	segment6(net, tcp, &local, 5000, 4000);
	CHECK(kernel_run(prog, n, net, 40, tcp, 20) != 0);
	/* Every word of the address is compared. */
	for (k = 0; k < 16; k += 5) {
		other = local;
		other.addr[k] ^= 0x10;
		segment6(net, tcp, &other, 5000, 4000);
		if (kernel_run(prog, n, net, 40, tcp, 20) != 0)
			check_fail(__FILE__, __LINE__, "a destination differing in byte %d passed", k);
	}
	/* No network header to look at: dropped. */
	segment6(net, tcp, &local, 5000, 4000);
	CHECK_EQ(kernel_run(prog, n, net, 39, tcp, 20), 0);
}

/* packet() with a TCP length of tcp_len (payload of zeros after the
 * header) and the checksum field set to the pseudo-header sum plus off. */
static size_t partial_packet(uint8_t *buf, size_t cap, const struct ptcp_endpoint *src,
			     const struct ptcp_endpoint *dst, uint16_t dport, size_t tcp_len, int off)
{
	uint16_t sum;

	CHECK(20 + tcp_len <= cap);
	CHECK_INT(ptcp_ipv4_build(buf, cap, src, dst, 6, 64, 7, tcp_len), 20);
	memset(buf + 20, 0, tcp_len);
	buf[20] = 0x9c;
	buf[21] = 0x41;
	buf[22] = (uint8_t)(dport >> 8);
	buf[23] = (uint8_t)dport;
	buf[32] = 0x50;
	sum = (uint16_t)(ptcp_tcp_pseudo_sum(src, dst, tcp_len) + off);
	buf[36] = (uint8_t)(sum >> 8);
	buf[37] = (uint8_t)sum;
	return 20 + tcp_len;
}

/* The checksum tap's program keeps the headers of exactly the segments to
 * our port whose checksum field is the pseudo-header sum, for any
 * addresses and lengths (the sum's carries included). */
static void test_partial_csum(void)
{
	static const uint8_t addrs[][4] = { { 10, 0, 0, 9 }, { 255, 255, 255, 254 },
					    { 203, 0, 113, 7 }, { 0, 0, 1, 0 } };
	struct sock_filter prog[PTCP_BPF_PARTIAL_MAX];
	static uint8_t pkt[65536];
	static const size_t lens[] = { 20, 21, 40, 1480, 65000, 65515 };
	unsigned i, j, l, kept = 0;
	int n = ptcp_bpf_partial_csum(prog, PTCP_BPF_PARTIAL_MAX, 4000);
	size_t len;

	CHECK(n > 0);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				struct ptcp_endpoint s = ep4(addrs[i][0], addrs[i][1], addrs[i][2],
							     addrs[i][3], 0);
				struct ptcp_endpoint d = ep4(addrs[j][0], addrs[j][1], addrs[j][2],
							     addrs[j][3], 0);

				len = partial_packet(pkt, sizeof(pkt), &s, &d, 4000, lens[l], 0);
				CHECK_EQ(run(prog, n, pkt, len), PTCP_BPF_PARTIAL_SNAP);
				kept++;
				/* One off: a full checksum, or anything else. */
				len = partial_packet(pkt, sizeof(pkt), &s, &d, 4000, lens[l], 1);
				CHECK_EQ(run(prog, n, pkt, len), 0);
				len = partial_packet(pkt, sizeof(pkt), &s, &d, 4001, lens[l], 0);
				CHECK_EQ(run(prog, n, pkt, len), 0);
			}
	CHECK_EQ(kept, 4 * 4 * 6);
	/* Fragments, other protocols, IP options moving the TCP header. */
	{
		struct ptcp_endpoint s = ep4(10, 0, 0, 9, 0), d = ep4(10, 0, 0, 1, 0);

		len = partial_packet(pkt, sizeof(pkt), &s, &d, 4000, 40, 0);
		pkt[6] = 0x20;
		CHECK_EQ(run(prog, n, pkt, len), 0);
		pkt[6] = 0;
		pkt[9] = 17;
		CHECK_EQ(run(prog, n, pkt, len), 0);
		pkt[9] = 6;
		CHECK_EQ(run(prog, n, pkt, len), PTCP_BPF_PARTIAL_SNAP);
		/* IHL 6: the same TCP header 4 bytes on, 4 bytes shorter. */
		memmove(pkt + 24, pkt + 20, 40);
		memset(pkt + 20, 1, 4);
		pkt[0] = 0x46;
		{
			uint16_t sum = ptcp_tcp_pseudo_sum(&s, &d, 40);

			pkt[40] = (uint8_t)(sum >> 8);
			pkt[41] = (uint8_t)sum;
		}
		pkt[3] += 4;
		CHECK_EQ(run(prog, n, pkt, len + 4), PTCP_BPF_PARTIAL_SNAP);
	}
	CHECK_INT(ptcp_bpf_partial_csum(prog, 10, 4000), PTCP_ERR_NOBUF);
}

int main(void)
{
	RUN(test_accepts_our_port);
	RUN(test_checks_destination_address);
	RUN(test_any_address);
	RUN(test_other_protocol);
	RUN(test_ip_options_move_the_port);
	RUN(test_fragments);
	RUN(test_short_and_ipv6);
	RUN(test_errors);
	RUN(test_payload_split);
	RUN(test_ring_program);
	RUN(test_interpreter_matches_libpcap);
	RUN(test_ipv6_port);
	RUN(test_ipv6_destination_address);
	RUN(test_partial_csum);
	return check_summary();
}
