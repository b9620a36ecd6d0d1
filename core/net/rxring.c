#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

#define RING_BYTES ((size_t)PTCP_RXRING_FRAME * PTCP_RXRING_FRAMES)
#define RCVBUF_BYTES (4 * 1024 * 1024)   /* the queue of packets larger than a frame */
#define COPY_BUF_BYTES 65536             /* an IPv4 packet at most */

static const uint8_t any4[4];

void ptcp_rxring_init(struct ptcp_rxring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int ptcp_rxring_open(struct ptcp_rxring *r, const struct ptcp_endpoint *local, bool all_protocols)
{
	struct sock_filter insns[PTCP_BPF_MAX];
	struct tpacket_req req;
	struct sockaddr_ll sll;
	struct sock_fprog prog;
	int v = TPACKET_V2, one = 1, buf = RCVBUF_BYTES, n, rv;

	ptcp_rxring_init(r);
	if (local->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	n = ptcp_bpf_ring(insns, PTCP_BPF_MAX, local);
	if (n < 0)
		return -EINVAL;
	prog.len = (unsigned short)n;
	prog.filter = insns;
	r->copy_buf = malloc(COPY_BUF_BYTES);
	if (!r->copy_buf)
		return -ENOMEM;
	/* Protocol 0: nothing is received before the bind below, when the
	 * filter and the ring are in place. */
	r->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->fd < 0)
		goto fail;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) != 0 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		goto fail;
	/* A packet larger than a frame is queued whole to the socket as
	 * well (the frame says TP_STATUS_COPY), if the queue has room: any
	 * value turns that on. */
	if (setsockopt(r->fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof(one)) != 0)
		goto fail;
	if (setsockopt(r->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
		(void)setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* Our own segments leaving would otherwise be copied in as well
	 * (PACKET_OUTGOING); a kernel without the option (before 4.20) has
	 * them dropped by type when read. */
	(void)setsockopt(r->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	memset(&req, 0, sizeof(req));
	req.tp_block_size = PTCP_RXRING_BLOCK;
	req.tp_block_nr = (unsigned)(RING_BYTES / PTCP_RXRING_BLOCK);
	req.tp_frame_size = PTCP_RXRING_FRAME;
	req.tp_frame_nr = PTCP_RXRING_FRAMES;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
		goto fail;
	r->map = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(all_protocols ? ETH_P_ALL : ETH_P_IP);
	if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		goto fail;
	r->local = *local;
	return 0;
fail:
	rv = -errno;
	ptcp_rxring_close(r);
	return rv;
}

void ptcp_rxring_close(struct ptcp_rxring *r)
{
	if (r->map)
		munmap(r->map, RING_BYTES);
	if (r->fd >= 0)
		close(r->fd);
	free(r->copy_buf);
	ptcp_rxring_init(r);
}

static struct tpacket2_hdr *frame(struct ptcp_rxring *r, unsigned i)
{
	return (struct tpacket2_hdr *)(void *)(r->map + (size_t)(i % PTCP_RXRING_FRAMES) * PTCP_RXRING_FRAME);
}

void ptcp_rxring_release(struct ptcp_rxring *r)
{
	/* Everything read from a frame happens before the kernel may write
	 * it again. */
	for (; r->held > 0; r->held--, r->cur = (r->cur + 1) % PTCP_RXRING_FRAMES)
		__atomic_store_n(&frame(r, r->cur)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* The packet of frame h into *rx, from the frame or (TP_STATUS_COPY) the
 * socket's queue. Returns 1, or 0 with rx->why. */
static int take(struct ptcp_rxring *r, const struct tpacket2_hdr *h, uint32_t status, struct ptcp_rawsock_rx *rx)
{
	const struct sockaddr_ll *ll =
		(const struct sockaddr_ll *)(const void *)((const uint8_t *)h +
							   TPACKET_ALIGN(sizeof(*h)));
	const uint8_t *ip = (const uint8_t *)h + h->tp_net;
	size_t len = h->tp_snaplen;

	memset(rx, 0, sizeof(*rx));
	if (status & TP_STATUS_COPY) {
		/* Its copy is next in the queue: the kernel queues it with
		 * the frame, under one lock, or neither. */
		ssize_t got = recv(r->fd, r->copy_buf, COPY_BUF_BYTES, MSG_TRUNC);

		r->copied++;
		if (got < 0 || (size_t)got != h->tp_len || got > COPY_BUF_BYTES) {
			rx->why = got < 0 ? "packet larger than a frame, not in the queue" :
				  got > COPY_BUF_BYTES ? "packet larger than 64 KiB" :
							 "packet larger than a frame and its copy differ in length";
			return 0;
		}
		ip = r->copy_buf;
		len = (size_t)got;
	}
	/* What the kernel would not deliver locally: another host's (the
	 * MAC is not ours), a broadcast, our own leaving. */
	if (ll->sll_pkttype != PACKET_HOST) {
		rx->why = "not addressed to this host (packet type)";
		return 0;
	}
	if (len < h->tp_len) {
		rx->why = "packet larger than a frame (no room in the socket's queue)";
		return 0;
	}
	rx->ip = ip;
	rx->ip_len = len;
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
	if (ptcp_rawsock_rx_ports(rx, r->local.port) == 0)
		return 0;
	/* The BPF filter checks it too, as a guard like the port's. */
	if (memcmp(r->local.addr, any4, 4) != 0 && memcmp(rx->dst.addr, r->local.addr, 4) != 0) {
		rx->why = "not for our address";
		return 0;
	}
	/* Sent by a kernel on this machine with the checksum left to
	 * offload (CHECKSUM_PARTIAL): no check. Any other is checked by the
	 * engine (RFC 9293 MUST-3), also one the kernel calls valid
	 * (TP_STATUS_CSUM_VALID): veth marks whatever its peer sent without
	 * a checksum state CHECKSUM_UNNECESSARY, forged or not. */
	if (status & TP_STATUS_CSUMNOTREADY)
		rx->csum_verified = rx->csum_partial = true;
	return 1;
}

int ptcp_rxring_recv_many(struct ptcp_rxring *r, unsigned max, struct ptcp_rawsock_rx *rx)
{
	unsigned k = 0;

	if (r->fd < 0)
		return -EBADF;
	ptcp_rxring_release(r);
	while (k < max) {
		const struct tpacket2_hdr *h = frame(r, r->cur + r->held);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (!(status & TP_STATUS_USER))
			break;
		/* One packet from the queue per call: its buffer is reused. */
		if ((status & TP_STATUS_COPY) && k > 0)
			break;
		if (take(r, h, status, &rx[k]) == 0)
			rx[k].tcp = NULL;
		r->held++;
		r->frames++;
		k++;
		if (status & TP_STATUS_COPY)
			break;
	}
	return k > 0 ? (int)k : -EAGAIN;
}

/* One of /proc/sys/net/ipv4/conf/<name>/forwarding: 1 on, 0 off, -1 not
 * readable. */
static int forwarding_of(const char *name)
{
	char path[128], c = 0;
	int fd, n;

	if ((size_t)snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", name) >= sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = (int)read(fd, &c, 1);
	close(fd);
	return n == 1 ? c != '0' : -1;
}

int ptcp_rxring_host_forwards(char *which, size_t cap)
{
	struct dirent *e;
	DIR *d;
	int rv = 0;

	snprintf(which, cap, "net.ipv4.conf.all.forwarding");
	switch (forwarding_of("all")) {
	case 1:
		return 1;
	case -1:
		return -1;
	}
	d = opendir("/proc/sys/net/ipv4/conf");
	if (!d)
		return -1;
	while (rv == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (forwarding_of(e->d_name) == 1) {
			snprintf(which, cap, "net.ipv4.conf.%s.forwarding", e->d_name);
			rv = 1;
		}
	}
	closedir(d);
	return rv;
}
