#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <linux/xfrm.h>

#include "be.h"
#include "error.h"
#include "ip.h"
#include "netlink.h"
#include "pktsock.h"
#include "sendbatch.h"
#include "segment.h"

/* As the raw socket: a full window of 64 KiB frames in flight. */
#define SOCKBUF_BYTES (4 * 1024 * 1024)
#define NL_BUF 8192
#define TCP_CSUM_OFF 16            /* checksum field in the TCP header */
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_CWR 0x80
/* The states in which the kernel itself sends to the neighbour's address
 * (its NUD_VALID, which the UAPI headers do not export). */
#define NEIGH_USABLE (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)
#define ETH_OFF PTCP_PKTSOCK_VNET_LEN
#define IP_OFF (PTCP_PKTSOCK_VNET_LEN + PTCP_PKTSOCK_ETH_LEN)

_Static_assert(sizeof(struct virtio_net_hdr) == PTCP_PKTSOCK_VNET_LEN, "virtio_net_hdr size");

/* --- pure helpers ---------------------------------------------------------- */

uint16_t ptcp_pktsock_pseudo_sum(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
                                 size_t tcp_len)
{
	if (src->family != PTCP_AF_INET || dst->family != PTCP_AF_INET)
		return 0;
	return ptcp_tcp_pseudo_sum(src, dst, tcp_len);
}

/* Header length from the data offset, or 0 when it cannot be right. */
static size_t tcp_header_len(const uint8_t *tcp, size_t len)
{
	size_t thl;

	if (len < PTCP_TCP_HDR_MIN)
		return 0;
	thl = (size_t)(tcp[12] >> 4) * 4;
	if (thl < PTCP_TCP_HDR_MIN || thl > len)
		return 0;
	return thl;
}

int ptcp_pktsock_frame(uint8_t *frame, const struct ptcp_pktsock_path *path, size_t tcp_len,
                       uint16_t gso_size, uint16_t id, uint8_t ttl)
{
	uint8_t *tcp = frame + PTCP_PKTSOCK_HEADROOM;
	struct virtio_net_hdr vh;
	size_t thl, payload, piece;

	if (tcp_len > PTCP_PKTSOCK_TCP_MAX || path->src.family != PTCP_AF_INET ||
	    path->dst.family != PTCP_AF_INET)
		return PTCP_ERR_INVAL;
	thl = tcp_header_len(tcp, tcp_len);
	if (thl == 0)
		return PTCP_ERR_INVAL;
	payload = tcp_len - thl;
	/* A "GSO" packet that is one segment long is refused by the kernel's
	 * segmentation (tcp_gso_segment wants more payload than gso_size). */
	if (gso_size == 0 || payload <= gso_size)
		gso_size = 0;
	piece = 20 + thl + (gso_size ? gso_size : payload);
	if (path->mtu && piece > path->mtu)
		return PTCP_ERR_INVAL;

	/* Legacy virtio_net_hdr fields are in the host's byte order (the
	 * kernel reads them with vio_le(): little endian on little-endian
	 * hosts, native on the others). */
	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = gso_size ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE;
	vh.hdr_len = (uint16_t)(PTCP_PKTSOCK_ETH_LEN + 20 + thl);
	vh.gso_size = gso_size;
	vh.csum_start = PTCP_PKTSOCK_ETH_LEN + 20;
	vh.csum_offset = TCP_CSUM_OFF;
	memcpy(frame, &vh, sizeof(vh));

	memcpy(frame + ETH_OFF, path->dst_mac, 6);
	memcpy(frame + ETH_OFF + 6, path->src_mac, 6);
	ptcp_put16(frame + ETH_OFF + 12, ETH_P_IP);

	if (ptcp_ipv4_build(frame + IP_OFF, 20, &path->src, &path->dst, PTCP_IPPROTO_TCP,
			    ttl ? ttl : path->ttl ? path->ttl : 64, id, tcp_len) != 20)
		return PTCP_ERR_INVAL;

	/* CHECKSUM_PARTIAL: the kernel (or the device) adds the bytes from
	 * csum_start on to what the field holds, and GSO first corrects the
	 * length in it for each piece (__tcp_v4_send_check, tcp_gso_segment). */
	ptcp_put16(tcp + TCP_CSUM_OFF, ptcp_pktsock_pseudo_sum(&path->src, &path->dst, tcp_len));
	return (int)(PTCP_PKTSOCK_HEADROOM + tcp_len);
}

unsigned ptcp_pktsock_frame_segs(const uint8_t *frame, size_t len)
{
	struct virtio_net_hdr vh;
	size_t thl, payload;

	if (len < PTCP_PKTSOCK_HEADROOM + PTCP_TCP_HDR_MIN)
		return 1;
	memcpy(&vh, frame, sizeof(vh));
	thl = tcp_header_len(frame + PTCP_PKTSOCK_HEADROOM, len - PTCP_PKTSOCK_HEADROOM);
	if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE || vh.gso_size == 0 || thl == 0)
		return 1;
	payload = len - PTCP_PKTSOCK_HEADROOM - thl;
	return (unsigned)((payload + vh.gso_size - 1) / vh.gso_size);
}

int ptcp_pktsock_piece(uint8_t *out, size_t cap, const uint8_t *tcp, size_t len,
                       uint16_t gso_size, unsigned k, const struct ptcp_endpoint *src,
                       const struct ptcp_endpoint *dst)
{
	size_t thl = tcp_header_len(tcp, len), payload, step, off, plen, n;

	if (thl == 0)
		return PTCP_ERR_INVAL;
	payload = len - thl;
	step = gso_size && payload > gso_size ? gso_size : payload;
	n = step ? (payload + step - 1) / step : 1;
	if (k >= n)
		return 0;
	off = (size_t)k * step;
	plen = payload - off < step ? payload - off : step;
	if (cap < thl + plen)
		return PTCP_ERR_NOBUF;
	memcpy(out, tcp, thl);
	memcpy(out + thl, tcp + thl + off, plen);
	ptcp_put32(out + 4, ptcp_get32(tcp + 4) + (uint32_t)off);
	/* As TSO: FIN and PSH belong to the last byte, CWR to the first. */
	if (k + 1 < n)
		out[13] &= (uint8_t)~(TCP_FLAG_FIN | TCP_FLAG_PSH);
	if (k > 0)
		out[13] &= (uint8_t)~TCP_FLAG_CWR;
	ptcp_put16(out + TCP_CSUM_OFF, 0);
	ptcp_put16(out + TCP_CSUM_OFF, ptcp_tcp_checksum(src, dst, out, thl + plen));
	return (int)(thl + plen);
}

/* --- netlink messages -------------------------------------------------------- */

int ptcp_pktsock_parse_route(const void *msg, size_t len, struct ptcp_pktsock_rtinfo *rt)
{
	const struct rtattr *tb[RTA_MAX + 1], *mx[RTAX_MAX + 1];
	struct rtmsg rm;
	int n;

	if ((n = ptcp_nl_parse(msg, len, RTM_NEWROUTE, &rm, sizeof(rm), tb, RTA_MAX)) != 0)
		return n;
	if (rm.rtm_family != AF_INET)
		return -EPROTO;
	memset(rt, 0, sizeof(*rt));
	rt->type = rm.rtm_type;
	/* An IPv4 route through an IPv6 next hop (RFC 5549): not for us. */
	if (tb[RTA_VIA])
		return -EPROTO;
	if (tb[RTA_OIF] && ptcp_nl_attr_len(tb[RTA_OIF]) == 4)
		rt->oif = (int)ptcp_nl_attr_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] && ptcp_nl_attr_len(tb[RTA_GATEWAY]) == 4) {
		rt->has_gateway = true;
		memcpy(rt->gateway, ptcp_nl_attr_data(tb[RTA_GATEWAY]), 4);
	}
	if (tb[RTA_METRICS]) {
		if (ptcp_nl_parse_attrs(ptcp_nl_attr_data(tb[RTA_METRICS]),
					ptcp_nl_attr_len(tb[RTA_METRICS]), mx, RTAX_MAX) != 0)
			return -EPROTO;
		if (mx[RTAX_MTU] && ptcp_nl_attr_len(mx[RTAX_MTU]) == 4)
			rt->mtu = ptcp_nl_attr_u32(mx[RTAX_MTU]);
		if (mx[RTAX_HOPLIMIT] && ptcp_nl_attr_len(mx[RTAX_HOPLIMIT]) == 4 &&
		    ptcp_nl_attr_u32(mx[RTAX_HOPLIMIT]) <= 255)
			rt->hoplimit = (uint8_t)ptcp_nl_attr_u32(mx[RTAX_HOPLIMIT]);
	}
	return 0;
}

int ptcp_pktsock_parse_neigh(const void *msg, size_t len, uint16_t *state, uint8_t mac[6],
                             bool *has_mac)
{
	const struct rtattr *tb[NDA_MAX + 1];
	struct ndmsg nd;
	int n;

	if ((n = ptcp_nl_parse(msg, len, RTM_NEWNEIGH, &nd, sizeof(nd), tb, NDA_MAX)) != 0)
		return n;
	*state = nd.ndm_state;
	*has_mac = tb[NDA_LLADDR] && ptcp_nl_attr_len(tb[NDA_LLADDR]) == 6;
	if (*has_mac)
		memcpy(mac, ptcp_nl_attr_data(tb[NDA_LLADDR]), 6);
	return 0;
}

int ptcp_pktsock_parse_ct(const void *msg, size_t len, uint32_t *status)
{
	const struct rtattr *tb[CTA_MAX + 1];
	struct nfgenmsg nf;
	int n;

	n = ptcp_nl_parse(msg, len, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, &nf,
			  sizeof(nf), tb, CTA_MAX);
	if (n != 0)
		return n;
	if (!tb[CTA_STATUS] || ptcp_nl_attr_len(tb[CTA_STATUS]) != 4)
		return -EPROTO;
	*status = ptcp_get32(ptcp_nl_attr_data(tb[CTA_STATUS]));
	return 0;
}

/* The selector sel (of a policy or an SA) against our TCP flow from src
 * to dst leaving by interface oif: the kernel's xfrm_selector_match(),
 * also for an AF_UNSPEC selector (an SA made without one matches all). */
static bool selector_matches(const struct xfrm_selector *sel, const struct ptcp_endpoint *src,
			     const struct ptcp_endpoint *dst, int oif)
{
	uint32_t s = ptcp_get32(src->addr), d = ptcp_get32(dst->addr);
	uint32_t ss = ptcp_get32((const uint8_t *)&sel->saddr.a4);
	uint32_t sd = ptcp_get32((const uint8_t *)&sel->daddr.a4);
	uint32_t ms = sel->prefixlen_s >= 32 ? 0xffffffffu :
		      sel->prefixlen_s ? ~(0xffffffffu >> sel->prefixlen_s) : 0;
	uint32_t md = sel->prefixlen_d >= 32 ? 0xffffffffu :
		      sel->prefixlen_d ? ~(0xffffffffu >> sel->prefixlen_d) : 0;

	if (sel->family != AF_INET && sel->family != AF_UNSPEC)
		return false;
	if (((s ^ ss) & ms) || ((d ^ sd) & md))
		return false;
	if (((htons(src->port) ^ sel->sport) & sel->sport_mask) ||
	    ((htons(dst->port) ^ sel->dport) & sel->dport_mask))
		return false;
	if (sel->proto && sel->proto != PTCP_IPPROTO_TCP)
		return false;
	return !sel->ifindex || sel->ifindex == oif;
}

int ptcp_pktsock_xfrm_applies(const void *msg, size_t len, const struct ptcp_endpoint *src,
                              const struct ptcp_endpoint *dst, int oif)
{
	const uint8_t *body = (const uint8_t *)NLMSG_DATA(msg);
	struct xfrm_userpolicy_info pol;
	struct xfrm_usersa_info sa;
	struct nlmsghdr nh;
	int n;

	if (src->family != PTCP_AF_INET || dst->family != PTCP_AF_INET || len < sizeof(nh))
		return -EPROTO;
	memcpy(&nh, msg, sizeof(nh));
	if (nh.nlmsg_type == XFRM_MSG_NEWPOLICY) {
		if ((n = ptcp_nl_check(msg, len, XFRM_MSG_NEWPOLICY, sizeof(pol))) < 0)
			return n;
		memcpy(&pol, body, sizeof(pol));
		/* Only what the kernel would do to packets we send. */
		return pol.dir == XFRM_POLICY_OUT && selector_matches(&pol.sel, src, dst, oif);
	}
	if ((n = ptcp_nl_check(msg, len, XFRM_MSG_NEWSA, sizeof(sa))) < 0)
		return n;
	memcpy(&sa, body, sizeof(sa));
	/* An SA applies through a policy; without knowing which policies a
	 * future one may add, one that names the peer or whose selector
	 * covers the flow counts. */
	if (sa.family == AF_INET && memcmp(&sa.id.daddr.a4, dst->addr, 4) == 0)
		return 1;
	return selector_matches(&sa.sel, src, dst, oif);
}

/* --- talking to the kernel --------------------------------------------------- */

static int get_route(struct ptcp_pktsock *ps, const struct ptcp_endpoint *src,
		     const struct ptcp_endpoint *dst, uint32_t mark, struct ptcp_pktsock_rtinfo *rt)
{
	_Alignas(8) uint8_t buf[NL_BUF];
	struct ptcp_nl_req req;
	int n;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.rt));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.u.rt.rtm_family = AF_INET;
	req.u.rt.rtm_dst_len = 32;
	req.u.rt.rtm_src_len = 32;
	ptcp_nl_add_attr(&req, RTA_DST, dst->addr, 4);
	ptcp_nl_add_attr(&req, RTA_SRC, src->addr, 4);
	/* Our raw socket's packets carry the mark: policy routing may
	 * choose by it. */
	if (mark)
		ptcp_nl_add_attr(&req, RTA_MARK, &mark, sizeof(mark));
	n = ptcp_nl_talk(ps->nl, &ps->nl_seq, &req, buf, sizeof(buf));
	if (n < 0)
		return n;
	return ptcp_pktsock_parse_route(buf, (size_t)n, rt);
}

static int get_neigh(struct ptcp_pktsock *ps, int ifindex, const uint8_t addr[4], uint16_t *state,
		     uint8_t mac[6], bool *has_mac)
{
	_Alignas(8) uint8_t buf[NL_BUF];
	struct ptcp_nl_req req;
	int n;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.nd));
	req.nh.nlmsg_type = RTM_GETNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.u.nd.ndm_family = AF_INET;
	req.u.nd.ndm_ifindex = ifindex;
	ptcp_nl_add_attr(&req, NDA_DST, addr, 4);
	n = ptcp_nl_talk(ps->nl, &ps->nl_seq, &req, buf, sizeof(buf));
	if (n < 0)
		return n;
	return ptcp_pktsock_parse_neigh(buf, (size_t)n, state, mac, has_mac);
}

/* NTF_USE: the kernel treats the entry as used by its own traffic (it
 * re-verifies a stale one, and does not garbage-collect it). */
static void touch_neigh(struct ptcp_pktsock *ps, int ifindex, const uint8_t addr[4])
{
	_Alignas(8) uint8_t buf[NL_BUF];
	struct ptcp_nl_req req;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.nd));
	req.nh.nlmsg_type = RTM_NEWNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.u.nd.ndm_family = AF_INET;
	req.u.nd.ndm_ifindex = ifindex;
	req.u.nd.ndm_flags = NTF_USE;
	ptcp_nl_add_attr(&req, NDA_DST, addr, 4);
	(void)ptcp_nl_talk(ps->nl, &ps->nl_seq, &req, buf, sizeof(buf));
}

/* The interface's type, address and MTU. */
static int get_link(int ifindex, struct ptcp_pktsock_path *path, enum ptcp_pktsock_why *why)
{
	struct ifreq ifr;
	int fd, rv = 0;

	if (!if_indextoname((unsigned)ifindex, path->ifname))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", path->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		rv = -errno;
	} else if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		*why = PTCP_PKTSOCK_NOT_ETHER;
		rv = -ENOTSUP;
	} else {
		memcpy(path->src_mac, ifr.ifr_hwaddr.sa_data, 6);
		if (ioctl(fd, SIOCGIFMTU, &ifr) != 0)
			rv = -errno;
		else
			path->mtu = (unsigned)ifr.ifr_mtu;
	}
	close(fd);
	return rv;
}

/* The kernel's default TTL in this network namespace. */
static uint8_t default_ttl(void)
{
	char line[16];
	FILE *f = fopen("/proc/sys/net/ipv4/ip_default_ttl", "re");
	int v = 0;

	if (f) {
		if (fgets(line, sizeof(line), f))
			v = atoi(line);
		fclose(f);
	}
	return v > 0 && v <= 255 ? (uint8_t)v : 64;
}

int ptcp_pktsock_init(struct ptcp_pktsock *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->fd = -1;
	ps->nl = ptcp_nl_open(NETLINK_ROUTE);
	if (ps->nl < 0) {
		int rv = ps->nl;

		ps->nl = -1;
		return rv;
	}
	return 0;
}

int ptcp_pktsock_route(struct ptcp_pktsock *ps, const struct ptcp_endpoint *src,
                       const struct ptcp_endpoint *dst, uint32_t mark, struct ptcp_pktsock_path *path,
                       enum ptcp_pktsock_why *why)
{
	struct ptcp_pktsock_rtinfo rt;
	uint16_t state;
	bool has_mac;
	int rv;

	*why = PTCP_PKTSOCK_SYSTEM;
	memset(path, 0, sizeof(*path));
	if (src->family != PTCP_AF_INET || dst->family != PTCP_AF_INET) {
		*why = PTCP_PKTSOCK_NOT_UNICAST;
		return -ENOTSUP;
	}
	rv = get_route(ps, src, dst, mark, &rt);
	if (rv == -ENETUNREACH || rv == -EHOSTUNREACH) {
		*why = PTCP_PKTSOCK_NO_ROUTE;
		return -ENETUNREACH;
	}
	if (rv != 0)
		return rv;
	if (rt.type != RTN_UNICAST || rt.oif <= 0) {
		*why = PTCP_PKTSOCK_NOT_UNICAST;
		return -ENOTSUP;
	}
	path->ifindex = rt.oif;
	path->src = *src;
	path->dst = *dst;
	path->src.port = path->dst.port = 0;
	path->via_gateway = rt.has_gateway;
	memcpy(path->next_hop, rt.has_gateway ? rt.gateway : dst->addr, 4);
	path->ttl = rt.hoplimit ? rt.hoplimit : default_ttl();
	if ((rv = get_link(rt.oif, path, why)) != 0)
		return rv;
	if (rt.mtu && rt.mtu < path->mtu)
		path->mtu = rt.mtu;

	rv = get_neigh(ps, path->ifindex, path->next_hop, &state, path->dst_mac, &has_mac);
	if (rv == -ENOENT || (rv == 0 && (!(state & NEIGH_USABLE) || !has_mac))) {
		*why = PTCP_PKTSOCK_NO_NEIGH;
		return -EAGAIN;
	}
	if (rv != 0)
		return rv;
	*why = PTCP_PKTSOCK_OK;
	return 0;
}

/* A ctnetlink request for the connection from src to dst (conntrack finds
 * an entry by the tuple of either direction). */
static void ct_request(struct ptcp_nl_req *req, uint16_t msg, uint16_t flags,
		       const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst)
{
	uint8_t proto = PTCP_IPPROTO_TCP;
	uint16_t sport = htons(src->port), dport = htons(dst->port);
	size_t tuple, ip, l4;

	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(req->u.nf));
	req->nh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	req->nh.nlmsg_flags = flags;
	req->u.nf.nfgen_family = AF_INET;
	req->u.nf.version = NFNETLINK_V0;
	tuple = ptcp_nl_nest_begin(req, CTA_TUPLE_ORIG);
	ip = ptcp_nl_nest_begin(req, CTA_TUPLE_IP);
	ptcp_nl_add_attr(req, CTA_IP_V4_SRC, src->addr, 4);
	ptcp_nl_add_attr(req, CTA_IP_V4_DST, dst->addr, 4);
	ptcp_nl_nest_end(req, ip);
	l4 = ptcp_nl_nest_begin(req, CTA_TUPLE_PROTO);
	ptcp_nl_add_attr(req, CTA_PROTO_NUM, &proto, 1);
	ptcp_nl_add_attr(req, CTA_PROTO_SRC_PORT, &sport, 2);
	ptcp_nl_add_attr(req, CTA_PROTO_DST_PORT, &dport, 2);
	ptcp_nl_nest_end(req, l4);
	ptcp_nl_nest_end(req, tuple);
}

int ptcp_pktsock_conntrack(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst)
{
	struct nf_ct_tcp_flags liberal = { IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_BE_LIBERAL };
	_Alignas(8) uint8_t buf[NL_BUF];
	struct ptcp_nl_req req;
	uint32_t seq = 0, status;
	size_t pi, tcp;
	int fd, n;

	if (src->family != PTCP_AF_INET || dst->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	fd = ptcp_nl_open(NETLINK_NETFILTER);
	if (fd < 0)
		return fd;
	ct_request(&req, IPCTNL_MSG_CT_GET, NLM_F_REQUEST, src, dst);
	n = ptcp_nl_talk(fd, &seq, &req, buf, sizeof(buf));
	if (n >= 0)
		n = ptcp_pktsock_parse_ct(buf, (size_t)n, &status);
	if (n < 0)
		goto out;
	if (status & IPS_NAT_MASK) {
		n = -EXDEV;
		goto out;
	}
	/* Window tracking would find the peer's ACKs acknowledging data it
	 * never saw leave, and call them INVALID (a common firewall drops
	 * those): tell it not to track the window of this connection. */
	ct_request(&req, IPCTNL_MSG_CT_NEW, NLM_F_REQUEST | NLM_F_ACK, src, dst);
	pi = ptcp_nl_nest_begin(&req, CTA_PROTOINFO);
	tcp = ptcp_nl_nest_begin(&req, CTA_PROTOINFO_TCP);
	ptcp_nl_add_attr(&req, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, &liberal, sizeof(liberal));
	ptcp_nl_add_attr(&req, CTA_PROTOINFO_TCP_FLAGS_REPLY, &liberal, sizeof(liberal));
	ptcp_nl_nest_end(&req, tcp);
	ptcp_nl_nest_end(&req, pi);
	n = ptcp_nl_talk(fd, &seq, &req, buf, sizeof(buf));
	if (n >= 0)
		n = ptcp_nl_ack(buf, (size_t)n);
out:
	close(fd);
	return n < 0 ? n : 0;
}

struct xfrm_flow {
	const struct ptcp_endpoint *src, *dst;
	int oif;
};

static int xfrm_one(const void *msg, size_t len, void *ctx)
{
	const struct xfrm_flow *f = ctx;
	int rv = ptcp_pktsock_xfrm_applies(msg, len, f->src, f->dst, f->oif);

	return rv == 1 ? -EXDEV : rv;
}

/* Dumps this host's xfrm policies, then its SAs, through one with ctx;
 * stops at the first error the callback returns. */
static int xfrm_dump(int (*one)(const void *msg, size_t len, void *ctx), void *ctx)
{
	static const uint16_t kinds[] = { XFRM_MSG_GETPOLICY, XFRM_MSG_GETSA };
	struct ptcp_nl_req req;
	uint32_t seq = 0;
	size_t i;
	int fd, rv = 0;

	fd = ptcp_nl_open(NETLINK_XFRM);
	if (fd < 0)
		return fd;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rv == 0; i++) {
		memset(&req, 0, sizeof(req));
		req.nh.nlmsg_len = NLMSG_LENGTH(0);
		req.nh.nlmsg_type = kinds[i];
		req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		rv = ptcp_nl_exchange(fd, &seq, &req, one, ctx);
	}
	close(fd);
	return rv;
}

int ptcp_pktsock_xfrm(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst, int oif)
{
	struct xfrm_flow f = { src, dst, oif };

	if (src->family != PTCP_AF_INET || dst->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	return xfrm_dump(xfrm_one, &f);
}

/* Any policy or SA is one too many. */
static int xfrm_any_one(const void *msg, size_t len, void *ctx)
{
	struct nlmsghdr nh;

	(void)ctx;
	if (len < sizeof(nh))
		return -EPROTO;
	memcpy(&nh, msg, sizeof(nh));
	/* An error (no CAP_NET_ADMIN, say) is its errno: not a "none". */
	if (nh.nlmsg_type == NLMSG_ERROR)
		return ptcp_nl_check(msg, len, XFRM_MSG_NEWPOLICY, 0);
	return nh.nlmsg_type == XFRM_MSG_NEWPOLICY || nh.nlmsg_type == XFRM_MSG_NEWSA ? -EXDEV : -EPROTO;
}

int ptcp_pktsock_xfrm_any(void)
{
	return xfrm_dump(xfrm_any_one, NULL);
}

int ptcp_pktsock_socket(int *fd, uint32_t mark)
{
	int one = 1, v = SOCKBUF_BYTES, rv;

	/* Protocol 0: the socket sends only, no copy of received frames. */
	*fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		rv = -errno;
		*fd = -1;
		return rv;
	}
	if (setsockopt(*fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0) {
		rv = -errno;
		close(*fd);
		*fd = -1;
		return rv;
	}
	/* The mark only matters to tc here (netfilter is not passed); set it
	 * so that shaping by mark treats both paths alike. */
	if (mark)
		(void)setsockopt(*fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (setsockopt(*fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
		(void)setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	return 0;
}

int ptcp_pktsock_start(struct ptcp_pktsock *ps, const struct ptcp_pktsock_path *path,
                       uint32_t mark, uint16_t first_id)
{
	struct sockaddr_ll sll;
	int rv;

	ps->path = *path;
	ps->ip_id = first_id;
	if (ps->fd < 0 && (rv = ptcp_pktsock_socket(&ps->fd, mark)) != 0)
		return rv;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = path->ifindex;
	if (bind(ps->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		rv = -errno;
		close(ps->fd);
		ps->fd = -1;
		return rv;
	}
	return 0;
}

int ptcp_pktsock_refresh(struct ptcp_pktsock *ps, uint32_t mark)
{
	struct ptcp_pktsock_path now;
	enum ptcp_pktsock_why why;
	int rv;

	rv = ptcp_pktsock_route(ps, &ps->path.src, &ps->path.dst, mark, &now, &why);
	if (rv != 0 && rv != -EAGAIN)
		return rv;
	if (now.ifindex != ps->path.ifindex || memcmp(now.next_hop, ps->path.next_hop, 4) != 0)
		return -ENETUNREACH;
	if (rv != 0)
		return rv;
	touch_neigh(ps, ps->path.ifindex, ps->path.next_hop);
	memcpy(ps->path.dst_mac, now.dst_mac, 6);
	memcpy(ps->path.src_mac, now.src_mac, 6);
	ps->path.mtu = now.mtu;
	ps->path.ttl = now.ttl;
	return 0;
}

int ptcp_pktsock_send_many(struct ptcp_pktsock *ps, const struct iovec *frames, unsigned n)
{
	struct sockaddr_ll sll;

	if (ps->fd < 0)
		return -EBADF;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = ps->path.ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, ps->path.dst_mac, 6);
	return ptcp_send_batch(ps->fd, frames, n, &sll, sizeof(sll));
}

void ptcp_pktsock_close(struct ptcp_pktsock *ps)
{
	if (ps->fd >= 0)
		close(ps->fd);
	if (ps->nl >= 0)
		close(ps->nl);
	ps->fd = -1;
	ps->nl = -1;
}
