/* Tests of the raw socket's BPF filter (core/net/bpf.c), run without
 * privileges in libpcap's userspace interpreter of classic BPF, on the
 * same bytes a raw IPPROTO_TCP socket sees (the IP header first). */
#include <string.h>

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
	struct bpf_insn insns[PTCP_BPF_MAX];
	int i;

	/* struct sock_filter and struct bpf_insn are the same classic BPF
	 * instruction: code, jt, jf, k. */
	for (i = 0; i < n; i++) {
		insns[i].code = prog[i].code;
		insns[i].jt = prog[i].jt;
		insns[i].jf = prog[i].jf;
		insns[i].k = prog[i].k;
	}
	CHECK(bpf_validate(insns, n));
	return bpf_filter(insns, pkt, (u_int)len, (u_int)len);
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
	local.family = PTCP_AF_INET6;
	CHECK_INT(ptcp_bpf_tcp_port(prog, PTCP_BPF_MAX, &local), PTCP_ERR_INVAL);
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
	return check_summary();
}
