/* Segmentation offload for one peer (settings.gso; net/pktsock.h has the
 * frames). A one-way street: the raw socket until the connection is
 * established and the next hop's MAC is known, then the packet socket for
 * every segment of this peer, so that its segments never overtake each
 * other on two paths; back to the raw socket for good if the kernel
 * refuses a frame or the path changes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "clock.h"
#include "node_priv.h"
#include "nftguard.h"
#include "pktsock.h"
#include "random.h"

/* How often to look for a neighbour entry while there is none, and to
 * look the path up again once frames flow. */
#define GSO_RETRY (100 * PTCP_NS_PER_MS)
#define GSO_REFRESH PTCP_NS_PER_S
#define GSO_FRAME (PTCP_PKTSOCK_HEADROOM + PTCP_PKTSOCK_TCP_MAX)

enum gso_mode {
	GSO_OFF = 0,    /* given up: the node's raw path */
	GSO_WAIT,       /* no neighbour entry yet */
	GSO_ON,         /* every segment through the packet socket */
};

struct ptcp_gso {
	struct ptcp_peer *p;
	enum gso_mode mode;
	struct ptcp_pktsock pk;
	ptcp_ts retry_at;               /* next path look-up in GSO_WAIT */
	ptcp_ts refresh_at;             /* next path refresh in GSO_ON */
	bool told_wait;
	unsigned max_segs;              /* segments per super-segment */
	uint8_t *buf;                   /* PTCP_PKTSOCK_BATCH frames of GSO_FRAME */
	uint8_t *piece;                 /* one segment cut in software */
	size_t piece_cap;
	struct iovec iov[PTCP_PKTSOCK_BATCH];
	uint16_t size[PTCP_PKTSOCK_BATCH];  /* per frame: info.gso_size */
	uint8_t ttl[PTCP_PKTSOCK_BATCH];    /* per frame: info.ttl */
	uint64_t frames, segs;          /* sent through the packet socket */
};

int ptcp_gso_new(struct ptcp_gso **out, struct ptcp_peer *p)
{
	struct ptcp_node *n = p->node;
	struct ptcp_gso *g;
	int rv;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return PTCP_ERR_NOMEM;
	g->p = p;
	g->pk.fd = g->pk.nl = -1;
	rv = ptcp_pktsock_init(&g->pk);
	if (rv != 0) {
		nlog_info(n, "offload: no netlink socket (%s); raw socket only", strerror(-rv));
		free(g);
		return PTCP_ERR_SYSTEM;
	}
	g->buf = malloc((size_t)GSO_FRAME * PTCP_PKTSOCK_BATCH);
	g->piece_cap = (size_t)PTCP_TCP_HDR_MAX + 1460 + 64;
	g->piece = malloc(g->piece_cap);
	if (!g->buf || !g->piece) {
		nlog_info(n, "offload: out of memory for frames; raw socket only");
		ptcp_gso_free(g);
		return PTCP_ERR_NOMEM;
	}
	/* As many MSS-sized pieces as an IPv4 packet holds beside the largest
	 * TCP header; the engine also stops at the buffer's end. */
	g->max_segs = (PTCP_PKTSOCK_TCP_MAX - PTCP_TCP_HDR_MAX) / 1460;
	g->mode = GSO_WAIT;
	*out = g;
	return 0;
}

void ptcp_gso_free(struct ptcp_gso *g)
{
	if (!g)
		return;
	if (g->frames)
		nlog_info(g->p->node, "offload: %llu frames through the packet socket carried %llu segments",
			  (unsigned long long)g->frames, (unsigned long long)g->segs);
	ptcp_pktsock_close(&g->pk);
	free(g->buf);
	free(g->piece);
	free(g);
}

void ptcp_gso_path_suspect(struct ptcp_gso *g)
{
	g->refresh_at = 0;
}

static void give_up(struct ptcp_gso *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Back to the raw socket for good; says why once, at -v. */
static void give_up(struct ptcp_gso *g, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	nlog_info(g->p->node, "offload: %s; sending through the raw socket from now on", why);
	g->mode = GSO_OFF;
	ptcp_pktsock_close(&g->pk);
}

/* GSO_WAIT: find the path and open the packet socket. */
static void try_start(struct ptcp_gso *g, ptcp_ts now)
{
	struct ptcp_peer *p = g->p;
	struct ptcp_node *n = p->node;
	struct ptcp_pktsock_path path;
	enum ptcp_pktsock_why why;
	char a[48];
	int rv;

	if (now < g->retry_at)
		return;
	rv = ptcp_pktsock_route(&g->pk, &p->local, &p->remote, PTCP_NODE_MARK, &path, &why);
	if (rv == -EAGAIN) {
		/* The kernel resolves the next hop for the raw socket's
		 * segments; we take its answer when it is there. */
		if (!g->told_wait)
			nlog_info(n, "offload: no neighbour entry for the next hop yet; raw socket until there is one");
		g->told_wait = true;
		g->retry_at = ptcp_ts_add(now, GSO_RETRY);
		return;
	}
	if (rv != 0) {
		give_up(g, "%s",
			why == PTCP_PKTSOCK_NOT_ETHER ? "the route's interface is not Ethernet" :
			why == PTCP_PKTSOCK_NOT_UNICAST ? "the peer is not reached by a unicast route" :
			why == PTCP_PKTSOCK_NO_ROUTE ? "no route to the peer" : strerror(-rv));
		return;
	}
	/* Our frames will bypass this host's xfrm and netfilter: no IPsec
	 * policy or SA may apply, no NAT here may apply, and connection
	 * tracking must stop checking the window. What cannot be asked is
	 * taken as a no: the raw socket, which passes through both, is
	 * always right. By default (gso_auto) the host had none of them at
	 * all when the node opened (ptcp_gso_host_check()), and the node
	 * kept no capability to ask again. */
	if (n->gso_auto)
		goto checked;
	rv = ptcp_pktsock_xfrm(&p->local, &p->remote, path.ifindex);
	if (rv == -EXDEV) {
		give_up(g, "an IPsec (xfrm) policy or SA of this host may apply to the connection, "
			"and frames would bypass it");
		return;
	}
	if (rv != 0) {
		give_up(g, "cannot ask xfrm whether IPsec applies to the connection (%s)", strerror(-rv));
		return;
	}
	rv = ptcp_pktsock_conntrack(&p->local, &p->remote);
	if (rv == -EXDEV) {
		give_up(g, "this host NATs the connection, and frames would bypass the NAT");
		return;
	}
	if (rv != 0 && rv != -ENOENT) {
		give_up(g, "cannot ask conntrack about the connection (%s)", strerror(-rv));
		return;
	}
	if (rv == 0)
		nlog_info(n, "offload: this host tracks the connection (conntrack); its window check is off for it");
checked:
	/* The packet socket the node made while it had CAP_NET_RAW. */
	if (g->pk.fd < 0 && n->pkt_fd >= 0) {
		g->pk.fd = n->pkt_fd;
		n->pkt_fd = -1;
	}
	if (g->pk.fd < 0) {
		give_up(g, "no packet socket for this peer (the node's one is taken, and making "
			"another needs CAP_NET_RAW)");
		return;
	}
	rv = ptcp_pktsock_start(&g->pk, &path, PTCP_NODE_MARK, (uint16_t)ptcp_random_u32());
	if (rv != 0) {
		give_up(g, "cannot open a packet socket on %s: %s", path.ifname, strerror(-rv));
		return;
	}
	g->mode = GSO_ON;
	g->refresh_at = ptcp_ts_add(now, GSO_REFRESH);
	snprintf(a, sizeof(a), "%u.%u.%u.%u", path.next_hop[0], path.next_hop[1], path.next_hop[2],
		 path.next_hop[3]);
	nlog_info(n, "offload: segments go out as GSO frames on %s (MTU %u) to %s%s at "
		  "%02x:%02x:%02x:%02x:%02x:%02x, up to %u segments each",
		  path.ifname, path.mtu, path.via_gateway ? "gateway " : "", a, path.dst_mac[0],
		  path.dst_mac[1], path.dst_mac[2], path.dst_mac[3], path.dst_mac[4], path.dst_mac[5],
		  g->max_segs);
}

/* Sends frame i (its TCP part) through the raw socket, cut into segments
 * in software. */
static void send_cut(struct ptcp_gso *g, unsigned i)
{
	struct ptcp_peer *p = g->p;
	const uint8_t *tcp = (const uint8_t *)g->iov[i].iov_base + PTCP_PKTSOCK_HEADROOM;
	size_t len = g->iov[i].iov_len - PTCP_PKTSOCK_HEADROOM;
	struct ptcp_rawsock_tx tx;
	unsigned k;
	int n;

	for (k = 0;; k++) {
		n = ptcp_pktsock_piece(g->piece, g->piece_cap, tcp, len, g->size[i], k, &p->local,
				       &p->remote);
		if (n <= 0)
			return;
		memset(&tx, 0, sizeof(tx));
		tx.seg = g->piece;
		tx.len = (size_t)n;
		tx.src = p->local;
		tx.dst = p->remote;
		tx.ttl = g->ttl[i];
		(void)ptcp_rawsock_send_tx(&p->node->rs, &tx, 1);
	}
}

/* Sends frames [0, n). If the kernel refuses one, offload ends and that
 * frame and the rest go through the raw socket. */
static void send_frames(struct ptcp_gso *g, unsigned n)
{
	unsigned done = 0, i;
	int rv;

	while (done < n) {
		rv = ptcp_pktsock_send_many(&g->pk, g->iov + done, n - done);
		if (rv > 0) {
			for (i = done; i < done + (unsigned)rv; i++) {
				g->frames++;
				g->segs += ptcp_pktsock_frame_segs(g->iov[i].iov_base, g->iov[i].iov_len);
			}
			done += (unsigned)rv;
			continue;
		}
		if (rv == 0 || rv == -ENOBUFS || rv == -EAGAIN) {
			/* Lost locally, as on a congested link: TCP repairs it. */
			nlog_debug(g->p->node, "%u frames not sent: %s", n - done,
				   rv ? strerror(-rv) : "socket buffer full");
			return;
		}
		give_up(g, "the kernel refused a frame on %s: %s", g->pk.path.ifname, strerror(-rv));
		for (i = done; i < n; i++)
			send_cut(g, i);
		return;
	}
}

bool ptcp_gso_flush(struct ptcp_gso *g, ptcp_ts now)
{
	struct ptcp_peer *p = g->p;
	struct ptcp_node *n = p->node;
	struct ptcp_txinfo info;
	unsigned k = 0;
	uint8_t *frame;
	int len, flen, rv;

	if (g->mode == GSO_WAIT)
		try_start(g, now);
	if (g->mode != GSO_ON)
		return false;
	if (now >= g->refresh_at) {
		g->refresh_at = ptcp_ts_add(now, GSO_REFRESH);
		rv = ptcp_pktsock_refresh(&g->pk, PTCP_NODE_MARK);
		if (rv == -ENETUNREACH || rv == -EAGAIN || rv == -ENOTSUP) {
			give_up(g, "%s", rv == -EAGAIN ? "the next hop's neighbour entry is no longer valid" :
				"the route to the peer has changed");
			return false;
		}
		/* Another failure (netlink timed out) leaves the path as it was. */
	}
	for (;;) {
		frame = g->buf + (size_t)k * GSO_FRAME;
		memset(&info, 0, sizeof(info));
		/* Every frame asks the kernel to complete the checksum
		 * (VIRTIO_NET_HDR_F_NEEDS_CSUM): the engine leaves it out. */
		info.caps = PTCP_TXCAP_CSUM;
		len = ptcp_conn_output_gso(p->conn, frame + PTCP_PKTSOCK_HEADROOM, PTCP_PKTSOCK_TCP_MAX,
					   g->max_segs, &info, now);
		if (len < 0) {
			nlog_error(n, "engine output: %s", ptcp_strerror(len));
			break;
		}
		if (len == 0)
			break;
		/* What the engine produced, with the checksum the kernel will
		 * give it, before that field becomes the pseudo-header sum the
		 * kernel wants (only for the capture: a pass over the bytes). */
		if (n->pcap) {
			uint8_t *tcp = frame + PTCP_PKTSOCK_HEADROOM;

			ptcp_put16(tcp + 16, ptcp_tcp_checksum(&p->local, &p->remote, tcp, (size_t)len));
			(void)ptcp_pcapw_write_tcp(n->pcap, &p->local, &p->remote, tcp, (size_t)len,
						   info.ttl);
		}
		g->iov[k].iov_base = frame;
		g->iov[k].iov_len = PTCP_PKTSOCK_HEADROOM + (size_t)len;
		g->size[k] = info.gso_size;
		g->ttl[k] = info.ttl;
		flen = ptcp_pktsock_frame(frame, &g->pk.path, (size_t)len, info.gso_size, g->pk.ip_id,
					  info.ttl);
		if (flen < 0) {
			/* Larger than the interface's MTU, say: what was gathered
			 * goes as frames, this one and the rest another way. */
			send_frames(g, k);
			if (g->mode == GSO_ON)
				give_up(g, "a segment of %d bytes does not fit a frame on %s (MTU %u)", len,
					g->pk.path.ifname, g->pk.path.mtu);
			send_cut(g, k);
			return false;
		}
		g->pk.ip_id = (uint16_t)(g->pk.ip_id + ptcp_pktsock_frame_segs(frame, (size_t)flen));
		if (++k == PTCP_PKTSOCK_BATCH) {
			send_frames(g, k);
			if (g->mode != GSO_ON)
				return false;
			k = 0;
		}
	}
	send_frames(g, k);
	return g->mode == GSO_ON;
}

/* The names of this host's iptables-legacy tables (x_tables, which
 * nftables does not list), comma-separated into buf; empty when none. */
static void legacy_tables(char *buf, size_t cap)
{
	char line[64];
	size_t used = 0;
	FILE *f = fopen("/proc/net/ip_tables_names", "re");

	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && used + 2 < cap) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", line);
		if (used >= cap)
			used = cap - 1;
	}
	fclose(f);
}

void ptcp_gso_host_check(struct ptcp_node *n)
{
	char what[160];
	int rv;

	legacy_tables(what, sizeof(what));
	if (what[0]) {
		nlog_info(n, "offload: off: this host has iptables-legacy tables (%s), which frames "
			  "would bypass; the raw socket for every peer (--gso offloads anyway)", what);
		return;
	}
	rv = ptcp_nftguard_others(&n->guard, what, sizeof(what));
	if (rv != 0) {
		if (rv == 1)
			nlog_info(n, "offload: off: this host's nftables may see the connection (%s), "
				  "which frames would bypass; the raw socket for every peer (--gso "
				  "offloads anyway)", what);
		else
			nlog_info(n, "offload: off: cannot list this host's nftables ruleset (%s); the "
				  "raw socket for every peer", what);
		return;
	}
	rv = ptcp_pktsock_xfrm_any();
	if (rv != 0) {
		if (rv == -EXDEV)
			nlog_info(n, "offload: off: this host has IPsec (xfrm) policies or SAs, which "
				  "frames would bypass; the raw socket for every peer");
		else
			nlog_info(n, "offload: off: cannot ask xfrm about IPsec (%s); the raw socket for "
				  "every peer", strerror(-rv));
		return;
	}
	n->s.gso = n->gso_auto = true;
	nlog_info(n, "offload: on by default: this host has no firewall, NAT or IPsec rules of its "
		  "own (checked now; --no-gso turns offload off)");
}
