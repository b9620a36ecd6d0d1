#include <stdbool.h>
#include <stdint.h>

#include "bpf.h"
#include "error.h"

/* Offsets in the IPv4 header (RFC 791 section 3.1). */
#define IP_VER_IHL 0
#define IP_FRAG 6
#define IP_TOTAL_LEN 2
#define IP_PROTO 9
#define IP_SRC 12
#define IP_DST 16
#define TCP_DPORT 2
#define TCP_DOFF 12
#define TCP_FLAGS 13
#define TCP_FIN 0x01
#define TCP_CHECK 16
/* In the IPv6 header (RFC 8200 section 3), from SKF_NET_OFF. */
#define IP6_DST 24

#define ACCEPT_ALL 0xffffffffu   /* keep the whole packet */

static uint32_t word(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* The programs are built in p[] with these; jumps to the drop instruction
 * are filled in by finish(), when its position is known (jt and jf are
 * relative to the next instruction). */
#define STMT(c, v) (p[n++] = (struct sock_filter)BPF_STMT((c), (v)))
#define JUMP_DROP_IF_NOT(c, v) (p[n++] = (struct sock_filter)BPF_JUMP((c), (v), 0, 0xff))
#define JUMP_DROP_IF(c, v) (p[n++] = (struct sock_filter)BPF_JUMP((c), (v), 0xff, 0))
#define JUMP_KEEP_IF(c, v) (p[n++] = (struct sock_filter)BPF_JUMP((c), (v), 0xfe, 0))

/* Ends p[0..n) (room for two more) with "return keep" and the drop
 * instruction, and copies it to prog[0..cap) with the jumps marked 0xff
 * aimed at the drop, those marked 0xfe at the keep. */
static int finish(struct sock_filter *prog, size_t cap, struct sock_filter *p, unsigned n,
		  uint32_t keep)
{
	unsigned i, drop;

	STMT(BPF_RET | BPF_K, keep);
	drop = n;
	STMT(BPF_RET | BPF_K, 0);
	if (n > cap)
		return PTCP_ERR_NOBUF;
	for (i = 0; i < n; i++) {
		prog[i] = p[i];
		if (BPF_CLASS(p[i].code) != BPF_JMP)
			continue;
		if (prog[i].jt == 0xff)
			prog[i].jt = (uint8_t)(drop - i - 1);
		if (prog[i].jt == 0xfe)
			prog[i].jt = (uint8_t)(drop - 1 - i - 1);
		if (prog[i].jf == 0xff)
			prog[i].jf = (uint8_t)(drop - i - 1);
	}
	return (int)n;
}

/* Appends to p[*n..) the checks every IPv4 program starts with: version
 * 4, TCP, no fragment bit of frag_mask set, destination port port. Leaves
 * X = IHL * 4, where the TCP header starts. */
static void ipv4_tcp_to(struct sock_filter *p, unsigned *np, uint32_t frag_mask, uint16_t port)
{
	unsigned n = *np;

	STMT(BPF_LD | BPF_B | BPF_ABS, IP_VER_IHL);
	STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0);
	JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, 0x40);
	STMT(BPF_LD | BPF_B | BPF_ABS, IP_PROTO);
	JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, 6);
	STMT(BPF_LD | BPF_H | BPF_ABS, IP_FRAG);
	JUMP_DROP_IF(BPF_JMP | BPF_JSET | BPF_K, frag_mask);
	STMT(BPF_LDX | BPF_B | BPF_MSH, IP_VER_IHL);
	STMT(BPF_LD | BPF_H | BPF_IND, TCP_DPORT);
	JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, port);
	*np = n;
}
/* Which segments a program of tcp_port() keeps. */
enum payload { ANY, WITH, WITHOUT };

/* Appends to p[*n..) what the kernel knows of a packet and a packet socket
 * bound to ETH_P_ALL must check itself (ptcp_bpf_ring()): the protocol of
 * the frame IPv4, no VLAN tag left (a frame of a VLAN this host has a
 * device for comes again on that device, without the tag; one of another
 * VLAN is not ours), addressed to this host (PACKET_HOST: not another
 * host's frame that a promiscuous device passed up, not a broadcast). */
static void ring_checks(struct sock_filter *p, unsigned *np)
{
	unsigned n = *np;

	STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
	JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, 0x0800);
	STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT));
	JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, 0);
	STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
	JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, 0);   /* PACKET_HOST */
	*np = n;
}

static int tcp_port(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local,
		    enum payload want, bool ring)
{
	struct sock_filter p[PTCP_BPF_MAX];
	uint32_t dst;
	bool check_dst;
	unsigned n = 0, k;

	if (local->family != PTCP_AF_INET && local->family != PTCP_AF_INET6)
		return PTCP_ERR_INVAL;
	dst = word(local->addr);
	check_dst = dst != 0;
	if (local->family == PTCP_AF_INET6)
		for (k = 4; k < 16; k += 4)
			check_dst = check_dst || word(local->addr + k) != 0;

	if (local->family == PTCP_AF_INET6) {
		/* The TCP header at 0 (bpf.h); the address through the
		 * network header, a word at a time. */
		STMT(BPF_LD | BPF_H | BPF_ABS, TCP_DPORT);
		JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, local->port);
		for (k = 0; check_dst && k < 16; k += 4) {
			STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + IP6_DST + (int)k));
			JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, word(local->addr + k));
		}
		goto accept;
	}
	if (ring)
		ring_checks(p, &n);
	/* A non-first fragment has no TCP header where we would look. */
	ipv4_tcp_to(p, &n, 0x1fff, local->port);
	if (check_dst) {
		STMT(BPF_LD | BPF_W | BPF_ABS, IP_DST);
		JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_K, dst);
	}
	if (want != ANY) {
		/* Payload bytes: Total Length - IHL * 4 (still in X) - Data
		 * Offset * 4 (the high nibble of TCP's byte 12). */
		STMT(BPF_LD | BPF_H | BPF_ABS, IP_TOTAL_LEN);
		STMT(BPF_ALU | BPF_SUB | BPF_X, 0);
		STMT(BPF_ST, 0);
		STMT(BPF_LD | BPF_B | BPF_IND, TCP_DOFF);
		STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0);
		STMT(BPF_ALU | BPF_RSH | BPF_K, 2);
		STMT(BPF_MISC | BPF_TAX, 0);
		STMT(BPF_LD | BPF_MEM, 0);
		if (want == WITH)
			JUMP_KEEP_IF(BPF_JMP | BPF_JGT | BPF_X, 0);
		else
			JUMP_DROP_IF(BPF_JMP | BPF_JGT | BPF_X, 0);
		/* A FIN goes with the data, in order behind it. */
		STMT(BPF_LDX | BPF_B | BPF_MSH, IP_VER_IHL);
		STMT(BPF_LD | BPF_B | BPF_IND, TCP_FLAGS);
		if (want == WITH)
			JUMP_DROP_IF_NOT(BPF_JMP | BPF_JSET | BPF_K, TCP_FIN);
		else
			JUMP_DROP_IF(BPF_JMP | BPF_JSET | BPF_K, TCP_FIN);
	}
accept:
	return finish(prog, cap, p, n, ACCEPT_ALL);
}

int ptcp_bpf_tcp_port(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local)
{
	return tcp_port(prog, cap, local, ANY, false);
}

int ptcp_bpf_tcp_port_payload(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local,
			      bool payload)
{
	if (local->family != PTCP_AF_INET)
		return PTCP_ERR_INVAL;
	return tcp_port(prog, cap, local, payload ? WITH : WITHOUT, false);
}

int ptcp_bpf_ring(struct sock_filter *prog, size_t cap, const struct ptcp_endpoint *local)
{
	if (local->family != PTCP_AF_INET)
		return PTCP_ERR_INVAL;
	return tcp_port(prog, cap, local, WITH, true);
}

int ptcp_bpf_partial_csum(struct sock_filter *prog, size_t cap, uint16_t port)
{
	struct sock_filter p[PTCP_BPF_PARTIAL_MAX];
	unsigned n = 0, k;

	/* Any fragment: a local kernel's segments are whole, and the tap
	 * sees packets before reassembly. */
	ipv4_tcp_to(p, &n, 0x3fff, port);
	/* M[0] = TCP length (Total Length - IHL * 4), then the addresses'
	 * four 16-bit halves and the protocol added to it. */
	STMT(BPF_LD | BPF_H | BPF_ABS, IP_TOTAL_LEN);
	STMT(BPF_ALU | BPF_SUB | BPF_X, 0);
	STMT(BPF_ST, 0);
	STMT(BPF_LD | BPF_H | BPF_ABS, IP_SRC);
	STMT(BPF_MISC | BPF_TAX, 0);
	for (k = 2; k < 8; k += 2) {
		STMT(BPF_LD | BPF_H | BPF_ABS, IP_SRC + k);
		STMT(BPF_ALU | BPF_ADD | BPF_X, 0);
		STMT(BPF_MISC | BPF_TAX, 0);
	}
	STMT(BPF_LD | BPF_MEM, 0);
	STMT(BPF_ALU | BPF_ADD | BPF_X, 0);
	STMT(BPF_ALU | BPF_ADD | BPF_K, 6);
	/* Folded twice: under 5 * 65536 before, at most 0xffff after. */
	for (k = 0; k < 2; k++) {
		STMT(BPF_ST, 0);
		STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
		STMT(BPF_MISC | BPF_TAX, 0);
		STMT(BPF_LD | BPF_MEM, 0);
		STMT(BPF_ALU | BPF_AND | BPF_K, 0xffff);
		STMT(BPF_ALU | BPF_ADD | BPF_X, 0);
	}
	STMT(BPF_ST, 1);
	STMT(BPF_LDX | BPF_B | BPF_MSH, IP_VER_IHL);
	STMT(BPF_LD | BPF_H | BPF_IND, TCP_CHECK);
	STMT(BPF_LDX | BPF_MEM, 1);
	JUMP_DROP_IF_NOT(BPF_JMP | BPF_JEQ | BPF_X, 0);
	return finish(prog, cap, p, n, PTCP_BPF_PARTIAL_SNAP);
}
