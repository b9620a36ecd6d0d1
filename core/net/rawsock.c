#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf.h"
#include "ip.h"
#include "rawsock.h"
#include "segment.h"
#include "sendbatch.h"

/* Enough for a full default window (256 KiB) in flight plus headers. */
#define SOCKBUF_BYTES (4 * 1024 * 1024)
/* Kernel picks of a port that is taken in the other family, at most. */
#define PICK_TRIES 16
/* The checksum field in the TCP header. */
#define TCP_CHECK_OFF 16

union sa46 {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

static const int domain_of[PTCP_RAWSOCK_NFAM] = { AF_INET, AF_INET6 };

int ptcp_rawsock_index(uint8_t family)
{
	return family == PTCP_AF_INET ? PTCP_RAWSOCK_V4 : family == PTCP_AF_INET6 ? PTCP_RAWSOCK_V6 : -1;
}

bool ptcp_rawsock_has(const struct ptcp_rawsock *rs, uint8_t family)
{
	int i = ptcp_rawsock_index(family);

	return i >= 0 && rs->fam[i].fd >= 0;
}

/* The socket address of ep (port as given). Returns its length. */
static socklen_t to_sockaddr(union sa46 *sa, const struct ptcp_endpoint *ep)
{
	memset(sa, 0, sizeof(*sa));
	if (ep->family == PTCP_AF_INET6) {
		sa->in6.sin6_family = AF_INET6;
		memcpy(&sa->in6.sin6_addr, ep->addr, 16);
		sa->in6.sin6_port = htons(ep->port);
		return sizeof(sa->in6);
	}
	sa->in.sin_family = AF_INET;
	memcpy(&sa->in.sin_addr, ep->addr, 4);
	sa->in.sin_port = htons(ep->port);
	return sizeof(sa->in);
}

static bool addr_known(const struct ptcp_endpoint *ep)
{
	uint8_t d = 0;

	for (int i = 0; i < (ep->family == PTCP_AF_INET6 ? 16 : 4); i++)
		d |= ep->addr[i];
	return d != 0;
}

/* Asks for a bigger socket buffer; as root the FORCE variant passes the
 * rmem_max/wmem_max limits. Failure only costs speed. */
static void grow_buffer(int fd, int opt, int force_opt)
{
	int v = SOCKBUF_BYTES;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

/* The kernel TCP socket that holds f's port (f->local.port; 0: the
 * kernel picks one, written back). */
static int reserve_port(struct ptcp_rawsock_fam *f)
{
	union sa46 sa;
	socklen_t slen;
	int one = 1;

	f->reserve_fd = socket(domain_of[ptcp_rawsock_index(f->local.family)],
			       SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (f->reserve_fd < 0)
		return -errno;
	/* SO_REUSEPORT and not SO_REUSEADDR: the kernel lets a later socket
	 * bind the port beside this one only if it has SO_REUSEPORT too and
	 * the same uid (our rendezvous socket), and never a socket of
	 * another user, whether it means to listen or not. With
	 * SO_REUSEADDR, any user's SO_REUSEADDR socket could bind beside a
	 * socket that does not listen, then listen, and be handed the
	 * connections meant for us. IPV6_V6ONLY keeps the IPv6 reservation
	 * out of IPv4, which has one of its own: a dual-stack socket of
	 * anyone else conflicts with both. */
	if (setsockopt(f->reserve_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		return -errno;
	if (f->local.family == PTCP_AF_INET6 &&
	    setsockopt(f->reserve_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		return -errno;
	slen = to_sockaddr(&sa, &f->local);
	if (bind(f->reserve_fd, &sa.sa, slen) != 0)
		return -errno;
	if (getsockname(f->reserve_fd, &sa.sa, &slen) != 0)
		return -errno;
	f->local.port = ntohs(f->local.family == PTCP_AF_INET6 ? sa.in6.sin6_port : sa.in.sin_port);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reserves the port in every family of want[] (the first one may pick
 * it). Port 0: a pick that is taken in a later family is given back and
 * another one tried. */
static int reserve_all(struct ptcp_rawsock *rs, const bool want[PTCP_RAWSOCK_NFAM])
{
	int i, rv = 0, tries;

	for (tries = 0; tries < PICK_TRIES; tries++) {
		uint16_t port = rs->port;

		for (i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
			if (!want[i])
				continue;
			rs->fam[i].local.port = port;
			if ((rv = reserve_port(&rs->fam[i])) != 0)
				break;
			port = rs->fam[i].local.port;
		}
		if (i == PTCP_RAWSOCK_NFAM) {
			rs->port = port;
			return 0;
		}
		for (i = 0; i < PTCP_RAWSOCK_NFAM; i++)
			close_fd(&rs->fam[i].reserve_fd);
		if (rs->port != 0 || rv != -EADDRINUSE)
			return rv;
	}
	return rv;
}

/* The port and its lock. A port given by the caller is locked first, so
 * that a second p2ptcp of any user hears that one already serves it; a
 * port the kernel picks is locked once it is known. */
static int own_port(struct ptcp_rawsock *rs, const bool want[PTCP_RAWSOCK_NFAM])
{
	int rv;

	if (rs->port != 0 && (rv = ptcp_portlock_take(&rs->lock_fd, rs->port, &rs->holder)) != 0)
		return rv;
	if ((rv = reserve_all(rs, want)) != 0)
		return rv;
	if (rs->lock_fd < 0)
		return ptcp_portlock_take(&rs->lock_fd, rs->port, &rs->holder);
	return 0;
}

/* The new program replaces the old one at once. With drain, what was
 * queued before is read and dropped: packets queued before this filter
 * was attached may be anyone's, or (in rendezvous mode) the rendezvous
 * connection's. */
static int attach(int fd, struct sock_filter *insns, int n, bool drain)
{
	struct sock_fprog prog;
	uint8_t junk[64];

	prog.len = (unsigned short)n;
	prog.filter = insns;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		return -errno;
	while (drain && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
		;
	return 0;
}

/* Lets in the segments for f->local (its address, or any when it is all
 * zero) and our port; drain as for attach(). */
static int filter(struct ptcp_rawsock_fam *f, bool drain)
{
	struct sock_filter insns[PTCP_BPF_MAX];
	int n = ptcp_bpf_tcp_port(insns, PTCP_BPF_MAX, &f->local);

	if (n < 0)
		return -EINVAL;
	return attach(f->fd, insns, n, drain);
}

int ptcp_rawsock_no_payload(struct ptcp_rawsock *rs)
{
	struct ptcp_rawsock_fam *f = &rs->fam[PTCP_RAWSOCK_V4];
	struct sock_filter insns[PTCP_BPF_MAX];
	int n;

	if (f->fd < 0)
		return -EAFNOSUPPORT;
	n = ptcp_bpf_tcp_port_payload(insns, PTCP_BPF_MAX, &f->local, false);
	if (n < 0)
		return -EINVAL;
	return attach(f->fd, insns, n, true);
}

int ptcp_rawsock_all_segments(struct ptcp_rawsock *rs)
{
	struct ptcp_rawsock_fam *f = &rs->fam[PTCP_RAWSOCK_V4];

	if (f->fd < 0)
		return -EAFNOSUPPORT;
	/* What is queued passed the narrower filter: ours, kept. */
	return filter(f, false);
}

/* Our address is known: bind to it and let our port's segments in. */
static int aim(struct ptcp_rawsock_fam *f)
{
	union sa46 sa;
	socklen_t slen;

	/* Binding a raw socket sets the source address of what it sends (and
	 * keeps out packets to other addresses). */
	slen = to_sockaddr(&sa, &f->local);
	if (f->local.family == PTCP_AF_INET6)
		sa.in6.sin6_port = 0;
	else
		sa.in.sin_port = 0;
	if (bind(f->fd, &sa.sa, slen) != 0)
		return -errno;
	return filter(f, true);
}

static int setup_raw(struct ptcp_rawsock *rs, struct ptcp_rawsock_fam *f)
{
	/* Until the address is known, nothing at all. */
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
	int one = 1, csum_off = TCP_CHECK_OFF;

	f->fd = socket(domain_of[ptcp_rawsock_index(f->local.family)], SOCK_RAW | SOCK_CLOEXEC,
		       IPPROTO_TCP);
	if (f->fd < 0)
		return -errno;
	if (setsockopt(f->fd, SOL_SOCKET, SO_MARK, &rs->mark, sizeof(rs->mark)) != 0)
		return -errno;
	/* IPv6: where a segment went and with what hop limit, beside it. */
	if (f->local.family == PTCP_AF_INET6 &&
	    (setsockopt(f->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0 ||
	     setsockopt(f->fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) != 0))
		return -errno;
	/* IPv6: the kernel verifies the TCP checksum of what it delivers
	 * (rawv6_recvmsg, while copying: bad ones are dropped), takes its
	 * own CHECKSUM_PARTIAL segments as verified, and fills in the
	 * checksum of what we send (RFC 3542 section 3.1). */
	if (f->local.family == PTCP_AF_INET6 &&
	    setsockopt(f->fd, IPPROTO_IPV6, IPV6_CHECKSUM, &csum_off, sizeof(csum_off)) != 0)
		return -errno;
	grow_buffer(f->fd, SO_SNDBUF, SO_SNDBUFFORCE);
	grow_buffer(f->fd, SO_RCVBUF, SO_RCVBUFFORCE);
	if (addr_known(&f->local))
		return aim(f);
	return attach(f->fd, &none, 1, true);
}

/* A host without IPv6 (ipv6.disable=1, or a kernel without it). */
static bool no_ipv6(int err)
{
	return err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT;
}

int ptcp_rawsock_open(struct ptcp_rawsock *rs, const struct ptcp_endpoint *local, uint32_t mark)
{
	bool want[PTCP_RAWSOCK_NFAM] = { false, false };
	int i, rv;

	memset(rs, 0, sizeof(*rs));
	rs->lock_fd = -1;
	ptcp_csumtap_init(&rs->tap);
	for (i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
		rs->fam[i].fd = rs->fam[i].reserve_fd = -1;
		rs->fam[i].local.family = i == PTCP_RAWSOCK_V4 ? PTCP_AF_INET : PTCP_AF_INET6;
	}
	if (local->family == PTCP_AF_NONE) {
		want[PTCP_RAWSOCK_V4] = want[PTCP_RAWSOCK_V6] = true;
	} else if ((i = ptcp_rawsock_index(local->family)) >= 0) {
		want[i] = true;
		memcpy(rs->fam[i].local.addr, local->addr, sizeof(local->addr));
	} else {
		return -EAFNOSUPPORT;
	}
	rs->port = local->port;
	rs->mark = mark;

	/* The port first, then the raw sockets: a p2ptcp that cannot have
	 * the port must not get a copy of its segments even for a moment. */
	rv = own_port(rs, want);
	if (rv != 0 && local->family == PTCP_AF_NONE && no_ipv6(rv)) {
		/* No IPv6 here: IPv4 alone, as before. */
		ptcp_rawsock_close(rs);
		rs->lock_fd = -1;
		rs->v6_error = rv;
		want[PTCP_RAWSOCK_V6] = false;
		rs->port = local->port;
		rv = own_port(rs, want);
	}
	if (rv != 0)
		goto fail;
	for (i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
		if (!want[i])
			continue;
		rs->fam[i].local.port = rs->port;
		if ((rv = setup_raw(rs, &rs->fam[i])) != 0)
			goto fail;
	}
	/* Without the tap no IPv4 segment with a partial checksum is taken:
	 * right off a real wire, and a lab whose veths offload would show
	 * it at once. */
	if (want[PTCP_RAWSOCK_V4])
		rs->tap_error = ptcp_csumtap_open(&rs->tap, rs->port);
	return 0;
fail:
	ptcp_rawsock_close(rs);
	return rv;
}

int ptcp_rawsock_set_any(struct ptcp_rawsock *rs)
{
	int i, rv;

	for (i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
		struct ptcp_rawsock_fam *f = &rs->fam[i];

		if (f->fd < 0)
			continue;
		memset(f->local.addr, 0, sizeof(f->local.addr));
		if ((rv = filter(f, true)) != 0)
			return rv;
	}
	return 0;
}

void ptcp_rawsock_close(struct ptcp_rawsock *rs)
{
	for (int i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
		close_fd(&rs->fam[i].fd);
		close_fd(&rs->fam[i].reserve_fd);
	}
	ptcp_csumtap_close(&rs->tap);
	ptcp_portlock_release(&rs->lock_fd);
}

/* ptcp_rawsock_send_tx(): per message the address, and room for the
 * source (IP_PKTINFO, IPV6_PKTINFO) and the TTL (IP_TTL, IPV6_HOPLIMIT),
 * for one sendmmsg(2) chunk at a time. */
struct tx_batch {
	const struct ptcp_rawsock_tx *tx;
	struct tx_slot {
		union sa46 sa;
		struct iovec iov;
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
	} slots[PTCP_SENDBATCH_CHUNK];
};

static struct cmsghdr *put_cmsg(struct cmsghdr *cm, int level, int type, const void *data,
				size_t len)
{
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
	return cm;
}

static void fill_tx(void *user, unsigned i, struct mmsghdr *msg)
{
	struct tx_batch *b = user;
	const struct ptcp_rawsock_tx *t = &b->tx[i];
	struct tx_slot *sl = &b->slots[i % PTCP_SENDBATCH_CHUNK];
	struct msghdr *mh = &msg->msg_hdr;
	bool v6 = t->dst.family == PTCP_AF_INET6;
	size_t pilen = v6 ? sizeof(struct in6_pktinfo) : sizeof(struct in_pktinfo);
	struct cmsghdr *cm;
	int ttl = t->ttl;
	struct ptcp_endpoint dst = t->dst;

	/* The port in a raw socket's address means nothing to the kernel
	 * (for IPv6 it would have to be the protocol): the TCP header
	 * carries it. */
	dst.port = 0;
	mh->msg_namelen = to_sockaddr(&sl->sa, &dst);
	mh->msg_name = &sl->sa;
	sl->iov.iov_base = (void *)t->seg;
	sl->iov.iov_len = t->len;
	mh->msg_iov = &sl->iov;
	mh->msg_iovlen = 1;
	memset(&sl->ctl, 0, sizeof(sl->ctl));
	mh->msg_control = sl->ctl.buf;
	mh->msg_controllen = CMSG_SPACE(pilen) + (ttl ? CMSG_SPACE(sizeof(int)) : 0);
	cm = CMSG_FIRSTHDR(mh);
	if (v6) {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, t->src.addr, 16);
		put_cmsg(cm, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, t->src.addr, 4);
		put_cmsg(cm, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (ttl) {
		cm = CMSG_NXTHDR(mh, cm);
		put_cmsg(cm, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_HOPLIMIT : IP_TTL, &ttl,
			 sizeof(int));
	}
}

int ptcp_rawsock_send_tx(struct ptcp_rawsock *rs, const struct ptcp_rawsock_tx *tx, unsigned n)
{
	struct tx_batch b;
	unsigned done = 0, run;
	int i, rv;

	while (done < n) {
		uint8_t family = tx[done].dst.family;

		i = ptcp_rawsock_index(family);
		/* One run of segments of one family, one socket. */
		for (run = 0; done + run < n && tx[done + run].dst.family == family &&
			      tx[done + run].src.family == family;
		     run++)
			;
		if (i < 0 || rs->fam[i].fd < 0 || run == 0)
			return done ? (int)done : -EAFNOSUPPORT;
		b.tx = tx + done;
		rv = ptcp_send_each(rs->fam[i].fd, run, fill_tx, &b);
		if (rv < 0)
			return done ? (int)done : rv;
		done += (unsigned)rv;
		if ((unsigned)rv < run)
			break;
	}
	return (int)done;
}

/* IPv6: the addresses and the hop limit from msg_name and the ancillary
 * data. Returns false when the kernel did not say. */
static bool rx6_meta(struct msghdr *mh, const struct sockaddr_in6 *from,
		     struct ptcp_rawsock_rx *rx)
{
	struct cmsghdr *cm;
	bool got_dst = false;

	if (mh->msg_namelen < sizeof(*from) || from->sin6_family != AF_INET6)
		return false;
	rx->src.family = PTCP_AF_INET6;
	memcpy(rx->src.addr, &from->sin6_addr, 16);
	rx->dst.family = PTCP_AF_INET6;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != IPPROTO_IPV6)
			continue;
		if (cm->cmsg_type == IPV6_PKTINFO && cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			memcpy(rx->dst.addr, &pi.ipi6_addr, 16);
			got_dst = true;
		} else if (cm->cmsg_type == IPV6_HOPLIMIT && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int hl;

			memcpy(&hl, CMSG_DATA(cm), sizeof(hl));
			rx->ttl = (uint8_t)hl;
		}
	}
	return got_dst;
}

int ptcp_rawsock_rx_ports(struct ptcp_rawsock_rx *rx, uint16_t port)
{
	if (rx->tcp_len < 4) {
		rx->why = "truncated TCP header";
		return 0;
	}
	rx->src.port = (uint16_t)(rx->tcp[0] << 8 | rx->tcp[1]);
	rx->dst.port = (uint16_t)(rx->tcp[2] << 8 | rx->tcp[3]);
	/* The BPF filter already did this; it stays as a guard in case the
	 * filter could not be attached the same way on another kernel. */
	if (rx->dst.port != port) {
		rx->why = "not for our port";
		return 0;
	}
	return 1;
}

/* One packet that recvmsg(2) put in buf (n bytes, the real length): its
 * TCP segment into *rx. Returns 1, or 0 with rx->why. */
static int take_rx(struct ptcp_rawsock *rs, uint8_t family, const uint8_t *buf, size_t cap, size_t n,
		   struct msghdr *mh, const struct sockaddr_in6 *from, struct ptcp_rawsock_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	if (n > cap || (mh->msg_flags & MSG_CTRUNC)) {
		rx->why = n > cap ? "packet larger than the receive buffer" : "ancillary data cut short";
		return 0;
	}
	if (family == PTCP_AF_INET6) {
		if (!rx6_meta(mh, from, rx)) {
			rx->why = "no IPv6 destination from the kernel";
			return 0;
		}
		rx->tcp = buf;
		rx->tcp_len = n;
	} else {
		rx->ip = buf;
		rx->ip_len = n;
		if (ptcp_ip_tcp_payload(buf, rx->ip_len, &rx->src, &rx->dst, &rx->tcp, &rx->tcp_len,
					&rx->why) != 0)
			return 0;
		rx->ttl = buf[8];
	}
	if (ptcp_rawsock_rx_ports(rx, rs->port) == 0)
		return 0;
	/* IPv6: the kernel verified the checksum (IPV6_CHECKSUM) or sent
	 * the segment itself. IPv4: a segment from a kernel on this machine
	 * (namespaces) may come with the checksum left to offload, the field
	 * holding the pseudo-header sum; taken when the tap vouches that this
	 * host's kernel sent it so, or when it verifies (a full checksum that
	 * happens to equal the sum), else dropped (RFC 9293 MUST-3). */
	if (family == PTCP_AF_INET6) {
		rx->csum_verified = true;
	} else if (ptcp_tcp_checksum_looks_partial(rx->tcp, rx->tcp_len, &rx->src, &rx->dst)) {
		if (ptcp_csumtap_vouches(&rs->tap, rx->ip, rx->ip_len)) {
			rx->csum_verified = rx->csum_partial = true;
		} else if (ptcp_tcp_checksum(&rx->src, &rx->dst, rx->tcp, rx->tcp_len) == 0) {
			rx->csum_verified = true;
		} else {
			rx->why = "TCP checksum holds only the pseudo-header sum, and this host's kernel "
				  "did not send it so";
			return 0;
		}
	}
	return 1;
}

int ptcp_rawsock_recv_many(struct ptcp_rawsock *rs, uint8_t family, uint8_t *buf, size_t cap,
			   unsigned max, struct ptcp_rawsock_rx *rx)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) + 64];
		struct cmsghdr align;
	} ctl[PTCP_RAWSOCK_RECV_MANY];
	struct sockaddr_in6 from[PTCP_RAWSOCK_RECV_MANY];
	struct iovec iov[PTCP_RAWSOCK_RECV_MANY];
	struct mmsghdr msgs[PTCP_RAWSOCK_RECV_MANY];
	int i = ptcp_rawsock_index(family), n, k;

	if (i < 0 || rs->fam[i].fd < 0)
		return -EAFNOSUPPORT;
	if (max > PTCP_RAWSOCK_RECV_MANY)
		max = PTCP_RAWSOCK_RECV_MANY;
	if (max == 0)
		return -EINVAL;
	memset(msgs, 0, sizeof(msgs[0]) * max);
	for (k = 0; k < (int)max; k++) {
		struct msghdr *mh = &msgs[k].msg_hdr;

		iov[k].iov_base = buf + (size_t)k * cap;
		iov[k].iov_len = cap;
		mh->msg_iov = &iov[k];
		mh->msg_iovlen = 1;
		if (family == PTCP_AF_INET6) {
			mh->msg_name = &from[k];
			mh->msg_namelen = sizeof(from[k]);
			mh->msg_control = ctl[k].buf;
			mh->msg_controllen = sizeof(ctl[k].buf);
		}
	}
	/* MSG_TRUNC: each length is the packet's, so a cut one is seen. */
	do
		n = recvmmsg(rs->fam[i].fd, msgs, max, MSG_DONTWAIT | MSG_TRUNC, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (k = 0; k < n; k++)
		if (take_rx(rs, family, buf + (size_t)k * cap, cap, msgs[k].msg_len, &msgs[k].msg_hdr,
			    &from[k], &rx[k]) == 0)
			rx[k].tcp = NULL;
	return n;
}

int ptcp_rawsock_recv(struct ptcp_rawsock *rs, uint8_t family, uint8_t *buf, size_t cap,
		      struct ptcp_rawsock_rx *rx)
{
	int rv = ptcp_rawsock_recv_many(rs, family, buf, cap, 1, rx);

	if (rv < 0)
		return rv;
	return rx->tcp ? 1 : 0;
}
