#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "bpf.h"
#include "ip.h"
#include "rxring.h"

/* tp_frame_size only sizes the kernel's bookkeeping in TPACKET_V3, where
 * packets of any length share a block. */
#define FRAME_SIZE 2048

void ptcp_rxring_init(struct ptcp_rxring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int ptcp_rxring_open(struct ptcp_rxring *r, const struct ptcp_endpoint *local)
{
	struct sock_filter insns[PTCP_BPF_MAX];
	struct tpacket_req3 req;
	struct sockaddr_ll sll;
	struct sock_fprog prog;
	int v = TPACKET_V3, one = 1, n, rv;

	ptcp_rxring_init(r);
	if (local->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	n = ptcp_bpf_tcp_port_payload(insns, PTCP_BPF_MAX, local, true);
	if (n < 0)
		return -EINVAL;
	prog.len = (unsigned short)n;
	prog.filter = insns;
	/* Protocol 0: nothing is received before the bind below, when the
	 * filter and the ring are in place. */
	r->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->fd < 0)
		return -errno;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) != 0 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		goto fail;
	/* Our own segments leaving would otherwise be copied in as well
	 * (PACKET_OUTGOING); a kernel without the option (before 4.20) has
	 * them dropped by type when read. */
	(void)setsockopt(r->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	memset(&req, 0, sizeof(req));
	req.tp_block_size = PTCP_RXRING_BLOCK;
	req.tp_block_nr = PTCP_RXRING_BLOCKS;
	req.tp_frame_size = FRAME_SIZE;
	req.tp_frame_nr = PTCP_RXRING_BLOCK / FRAME_SIZE * PTCP_RXRING_BLOCKS;
	req.tp_retire_blk_tov = PTCP_RXRING_TIMEOUT_MS;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
		goto fail;
	r->map_len = (size_t)PTCP_RXRING_BLOCK * PTCP_RXRING_BLOCKS;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		goto fail;
	r->port = local->port;
	return 0;
fail:
	rv = -errno;
	ptcp_rxring_close(r);
	return rv;
}

void ptcp_rxring_close(struct ptcp_rxring *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	ptcp_rxring_init(r);
}

static struct tpacket_block_desc *block(struct ptcp_rxring *r)
{
	return (struct tpacket_block_desc *)(void *)(r->map + (size_t)r->cur * PTCP_RXRING_BLOCK);
}

void ptcp_rxring_release(struct ptcp_rxring *r)
{
	if (!r->held || r->left > 0)
		return;
	/* Everything read from the block happens before the kernel may
	 * write it again. */
	__atomic_store_n(&block(r)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->cur = (r->cur + 1) % PTCP_RXRING_BLOCKS;
	r->held = 0;
}

/* Takes block cur when the kernel has handed it over; false if not. */
static bool grab(struct ptcp_rxring *r)
{
	struct tpacket_block_desc *bd = block(r);

	if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
		return false;
	r->held = 1;
	r->left = bd->hdr.bh1.num_pkts;
	r->pkt = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
	return true;
}

/* One packet of the ring into *rx. Returns 1, or 0 with rx->why. */
static int take(struct ptcp_rxring *r, const struct tpacket3_hdr *h, struct ptcp_rawsock_rx *rx)
{
	const struct sockaddr_ll *ll =
		(const struct sockaddr_ll *)(const void *)((const uint8_t *)h +
							   TPACKET_ALIGN(sizeof(*h)));
	const uint8_t *ip = (const uint8_t *)h + h->tp_net;

	memset(rx, 0, sizeof(*rx));
	/* What the kernel would not deliver locally: another host's (the
	 * MAC is not ours), a broadcast, our own leaving. */
	if (ll->sll_pkttype != PACKET_HOST) {
		rx->why = "not addressed to this host (packet type)";
		return 0;
	}
	if (h->tp_snaplen < h->tp_len) {
		rx->why = "packet larger than a ring block";
		return 0;
	}
	rx->ip = ip;
	rx->ip_len = h->tp_snaplen;
	if (rx->ip_len < 1 || ip[0] >> 4 != 4) {
		rx->why = "not IPv4";
		return 0;
	}
	/* Fragments too: the raw socket would get them reassembled. */
	if (ptcp_ip_tcp_payload(ip, rx->ip_len, &rx->src, &rx->dst, &rx->tcp, &rx->tcp_len, &rx->why) != 0) {
		rx->tcp = NULL;
		return 0;
	}
	rx->ttl = ip[8];
	if (ptcp_rawsock_rx_ports(rx, r->port) == 0)
		return 0;
	/* Sent by a kernel on this machine with the checksum left to
	 * offload (CHECKSUM_PARTIAL): no check. Any other is checked by the
	 * engine (RFC 9293 MUST-3), also one the kernel calls valid
	 * (TP_STATUS_CSUM_VALID): veth marks whatever its peer sent without
	 * a checksum state CHECKSUM_UNNECESSARY, forged or not. */
	if (h->tp_status & TP_STATUS_CSUMNOTREADY)
		rx->csum_verified = rx->csum_partial = true;
	return 1;
}

int ptcp_rxring_recv_many(struct ptcp_rxring *r, unsigned max, struct ptcp_rawsock_rx *rx)
{
	unsigned k = 0;

	if (r->fd < 0)
		return -EBADF;
	while (k == 0) {
		ptcp_rxring_release(r);
		if (!r->held && !grab(r))
			return -EAGAIN;
		for (; k < max && r->left > 0; k++) {
			const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)(const void *)r->pkt;

			if (take(r, h, &rx[k]) == 0)
				rx[k].tcp = NULL;
			r->pkt += h->tp_next_offset;
			r->left--;
		}
	}
	return (int)k;
}
