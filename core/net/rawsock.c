#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf.h"
#include "ip.h"
#include "rawsock.h"
#include "sendbatch.h"

/* Enough for a full default window (256 KiB) in flight plus headers. */
#define SOCKBUF_BYTES (4 * 1024 * 1024)

static void to_sockaddr(struct sockaddr_in *sin, const struct ptcp_endpoint *ep)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ep->addr, 4);
	sin->sin_port = htons(ep->port);
}

/* Asks for a bigger socket buffer; as root the FORCE variant passes the
 * rmem_max/wmem_max limits. Failure only costs speed. */
static void grow_buffer(int fd, int opt, int force_opt)
{
	int v = SOCKBUF_BYTES;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

static int reserve_port(struct ptcp_rawsock *rs)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int one = 1;

	rs->reserve_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (rs->reserve_fd < 0)
		return -errno;
	/* SO_REUSEPORT and not SO_REUSEADDR: the kernel lets a later socket
	 * bind the port beside this one only if it has SO_REUSEPORT too and
	 * the same uid (our rendezvous socket), and never a socket of
	 * another user, whether it means to listen or not. With
	 * SO_REUSEADDR, any user's SO_REUSEADDR socket could bind beside a
	 * socket that does not listen, then listen, and be handed the
	 * connections meant for us. */
	if (setsockopt(rs->reserve_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		return -errno;
	to_sockaddr(&sin, &rs->local);
	if (bind(rs->reserve_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return -errno;
	if (getsockname(rs->reserve_fd, (struct sockaddr *)&sin, &slen) != 0)
		return -errno;
	rs->local.port = ntohs(sin.sin_port);
	return 0;
}

/* The port and its lock. A port given by the caller is locked first, so
 * that a second p2ptcp of any user hears that one already serves it; a
 * port the kernel picks is locked once it is known. */
static int own_port(struct ptcp_rawsock *rs)
{
	int rv;

	if (rs->local.port != 0 &&
	    (rv = ptcp_portlock_take(&rs->lock_fd, rs->local.port, &rs->holder)) != 0)
		return rv;
	if ((rv = reserve_port(rs)) != 0)
		return rv;
	if (rs->lock_fd < 0)
		return ptcp_portlock_take(&rs->lock_fd, rs->local.port, &rs->holder);
	return 0;
}

static bool addr_known(const struct ptcp_endpoint *ep)
{
	return (ep->addr[0] | ep->addr[1] | ep->addr[2] | ep->addr[3]) != 0;
}

static int attach(int fd, struct sock_filter *insns, int n)
{
	struct sock_fprog prog;
	uint8_t junk[64];

	prog.len = (unsigned short)n;
	prog.filter = insns;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		return -errno;
	/* Packets queued before this filter was attached may be anyone's, or
	 * (in rendezvous mode) the rendezvous connection's. */
	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
		;
	return 0;
}

/* Our address is known: bind to it and let our port's segments in. */
static int aim(struct ptcp_rawsock *rs)
{
	struct sock_filter insns[PTCP_BPF_MAX];
	struct sockaddr_in sin;
	int n;

	/* Binding a raw socket sets the source address of what it sends (and
	 * keeps out packets to other addresses). */
	to_sockaddr(&sin, &rs->local);
	sin.sin_port = 0;
	if (bind(rs->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return -errno;
	n = ptcp_bpf_tcp_port(insns, PTCP_BPF_MAX, &rs->local);
	if (n < 0)
		return -EINVAL;
	return attach(rs->fd, insns, n);
}

static int setup_raw(struct ptcp_rawsock *rs)
{
	/* Until the address is known, nothing at all. */
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);

	if (setsockopt(rs->fd, SOL_SOCKET, SO_MARK, &rs->mark, sizeof(rs->mark)) != 0)
		return -errno;
	grow_buffer(rs->fd, SO_SNDBUF, SO_SNDBUFFORCE);
	grow_buffer(rs->fd, SO_RCVBUF, SO_RCVBUFFORCE);
	if (addr_known(&rs->local))
		return aim(rs);
	return attach(rs->fd, &none, 1);
}

int ptcp_rawsock_open(struct ptcp_rawsock *rs, const struct ptcp_endpoint *local, uint32_t mark)
{
	int rv;

	memset(rs, 0, sizeof(*rs));
	rs->fd = -1;
	rs->reserve_fd = -1;
	rs->lock_fd = -1;
	if (local->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	rs->local = *local;
	rs->mark = mark;

	/* The port first, then the raw socket: a p2ptcp that cannot have the
	 * port must not get a copy of its segments even for a moment. */
	if ((rv = own_port(rs)) != 0)
		goto fail;
	rs->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (rs->fd < 0) {
		rv = -errno;
		goto fail;
	}
	if ((rv = setup_raw(rs)) != 0)
		goto fail;
	return 0;
fail:
	ptcp_rawsock_close(rs);
	return rv;
}

int ptcp_rawsock_set_any(struct ptcp_rawsock *rs)
{
	struct sock_filter insns[PTCP_BPF_MAX];
	struct ptcp_endpoint any = rs->local;
	int n;

	memset(any.addr, 0, sizeof(any.addr));
	n = ptcp_bpf_tcp_port(insns, PTCP_BPF_MAX, &any);
	if (n < 0)
		return -EINVAL;
	return attach(rs->fd, insns, n);
}

int ptcp_rawsock_set_addr(struct ptcp_rawsock *rs, const struct ptcp_endpoint *addr)
{
	struct ptcp_endpoint old = rs->local;
	int rv;

	if (addr->family != PTCP_AF_INET || !addr_known(addr))
		return -EAFNOSUPPORT;
	memcpy(rs->local.addr, addr->addr, sizeof(rs->local.addr));
	if ((rv = aim(rs)) != 0)
		rs->local = old;
	return rv;
}

void ptcp_rawsock_close(struct ptcp_rawsock *rs)
{
	if (rs->fd >= 0)
		close(rs->fd);
	if (rs->reserve_fd >= 0)
		close(rs->reserve_fd);
	ptcp_portlock_release(&rs->lock_fd);
	rs->fd = -1;
	rs->reserve_fd = -1;
}

static int set_ttl(struct ptcp_rawsock *rs, uint8_t ttl)
{
	/* -1 returns the socket to the route's default TTL. */
	int v = ttl ? ttl : -1;

	if (ttl == rs->ttl)
		return 0;
	if (setsockopt(rs->fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)) != 0)
		return -errno;
	rs->ttl = ttl;
	return 0;
}

int ptcp_rawsock_send(struct ptcp_rawsock *rs, const struct ptcp_endpoint *dst,
                      const uint8_t *seg, size_t len, uint8_t ttl)
{
	struct sockaddr_in sin;
	ssize_t n;
	int rv;

	if (dst->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	if ((rv = set_ttl(rs, ttl)) != 0)
		return rv;
	to_sockaddr(&sin, dst);
	/* The port in a raw socket's address means nothing to the kernel:
	 * the TCP header carries it. */
	sin.sin_port = 0;
	do
		n = sendto(rs->fd, seg, len, 0, (struct sockaddr *)&sin, sizeof(sin));
	while (n < 0 && errno == EINTR);
	rv = n < 0 ? -errno : 0;
	if (ttl)
		(void)set_ttl(rs, 0);
	return rv;
}

int ptcp_rawsock_send_many(struct ptcp_rawsock *rs, const struct ptcp_endpoint *dst,
                           const struct iovec *segs, unsigned n)
{
	struct sockaddr_in sin;
	int rv;

	if (dst->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	if ((rv = set_ttl(rs, 0)) != 0)
		return rv;
	to_sockaddr(&sin, dst);
	sin.sin_port = 0;
	return ptcp_send_batch(rs->fd, segs, n, &sin, sizeof(sin));
}

/* ptcp_rawsock_send_tx(): per message the address, and room for
 * IP_PKTINFO and IP_TTL, for one sendmmsg(2) chunk at a time. */
struct tx_batch {
	const struct ptcp_rawsock_tx *tx;
	struct tx_slot {
		struct sockaddr_in sin;
		struct iovec iov;
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
	} slots[PTCP_SENDBATCH_CHUNK];
};

static void fill_tx(void *user, unsigned i, struct mmsghdr *msg)
{
	struct tx_batch *b = user;
	const struct ptcp_rawsock_tx *t = &b->tx[i];
	struct tx_slot *sl = &b->slots[i % PTCP_SENDBATCH_CHUNK];
	struct msghdr *mh = &msg->msg_hdr;
	struct in_pktinfo pi;
	struct cmsghdr *cm;
	int ttl = t->ttl;

	to_sockaddr(&sl->sin, &t->dst);
	sl->sin.sin_port = 0;
	sl->iov.iov_base = (void *)t->seg;
	sl->iov.iov_len = t->len;
	mh->msg_name = &sl->sin;
	mh->msg_namelen = sizeof(sl->sin);
	mh->msg_iov = &sl->iov;
	mh->msg_iovlen = 1;
	memset(&sl->ctl, 0, sizeof(sl->ctl));
	mh->msg_control = sl->ctl.buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(pi)) + (ttl ? CMSG_SPACE(sizeof(int)) : 0);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memset(&pi, 0, sizeof(pi));
	memcpy(&pi.ipi_spec_dst, t->src.addr, 4);
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	if (ttl) {
		cm = CMSG_NXTHDR(mh, cm);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_TTL;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &ttl, sizeof(int));
	}
}

int ptcp_rawsock_send_tx(struct ptcp_rawsock *rs, const struct ptcp_rawsock_tx *tx, unsigned n)
{
	struct tx_batch b;
	unsigned i;
	int rv;

	for (i = 0; i < n; i++)
		if (tx[i].dst.family != PTCP_AF_INET || tx[i].src.family != PTCP_AF_INET)
			return -EAFNOSUPPORT;
	if ((rv = set_ttl(rs, 0)) != 0)
		return rv;
	b.tx = tx;
	return ptcp_send_each(rs->fd, n, fill_tx, &b);
}

int ptcp_rawsock_recv(struct ptcp_rawsock *rs, uint8_t *buf, size_t cap, struct ptcp_rawsock_rx *rx)
{
	ssize_t n;

	do
		n = recv(rs->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;

	memset(rx, 0, sizeof(*rx));
	rx->ip = buf;
	if ((size_t)n > cap) {
		rx->why = "packet larger than the receive buffer";
		return 0;
	}
	rx->ip_len = (size_t)n;
	if (ptcp_ip_tcp_payload(buf, rx->ip_len, &rx->src, &rx->dst, &rx->tcp, &rx->tcp_len,
				&rx->why) != 0)
		return 0;
	if (rx->tcp_len < 4) {
		rx->why = "truncated TCP header";
		return 0;
	}
	rx->src.port = (uint16_t)(rx->tcp[0] << 8 | rx->tcp[1]);
	rx->dst.port = (uint16_t)(rx->tcp[2] << 8 | rx->tcp[3]);
	/* The BPF filter already did this; it stays as a guard in case the
	 * filter could not be attached the same way on another kernel. */
	if (rx->dst.port != rs->local.port) {
		rx->why = "not for our port";
		return 0;
	}
	/* Segments from a kernel in the same machine (namespaces) come with
	 * the checksum left to offload: complete it. */
	(void)ptcp_tcp_checksum_complete(buf + (rx->tcp - buf), rx->tcp_len, &rx->src, &rx->dst);
	return 1;
}
