#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>

#include "csumtap.h"

#define RCVBUF_BYTES (1024 * 1024)
#define READ_BATCH 32
#define TCP_FIXED 20

void ptcp_csumtap_init(struct ptcp_csumtap *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

int ptcp_csumtap_open(struct ptcp_csumtap *t, uint16_t port)
{
	struct sock_filter insns[PTCP_BPF_PARTIAL_MAX];
	struct sock_fprog prog;
	uint8_t junk[64];
	int one = 1, v = RCVBUF_BYTES, n, rv;

	ptcp_csumtap_init(t);
	n = ptcp_bpf_partial_csum(insns, PTCP_BPF_PARTIAL_MAX, port);
	if (n < 0)
		return -EINVAL;
	prog.len = (unsigned short)n;
	prog.filter = insns;
	/* Protocol 0 first: the socket receives nothing until the filter is
	 * on, then it is bound to IPv4 on every interface. */
	t->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->fd < 0)
		return -errno;
	if (setsockopt(t->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0 ||
	    setsockopt(t->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		goto fail;
	if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
		(void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	{
		struct sockaddr_ll sll;

		memset(&sll, 0, sizeof(sll));
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETH_P_IP);
		if (bind(t->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
			goto fail;
	}
	while (recv(t->fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
		;
	return 0;
fail:
	rv = -errno;
	ptcp_csumtap_close(t);
	return rv;
}

void ptcp_csumtap_close(struct ptcp_csumtap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* What of an IPv4 packet a record keeps: its header and TCP's first 20
 * bytes, or 0 when it is shorter than that or not IPv4. */
static size_t key_len(const uint8_t *ip, size_t len)
{
	size_t k;

	if (len < 1 || ip[0] >> 4 != 4)
		return 0;
	k = (size_t)(ip[0] & 0x0f) * 4 + TCP_FIXED;
	return k <= len && k <= PTCP_BPF_PARTIAL_SNAP ? k : 0;
}

void ptcp_csumtap_note(struct ptcp_csumtap *t, const uint8_t *hdr, size_t len, bool partial)
{
	struct ptcp_csumtap_rec *r;
	size_t k = key_len(hdr, len);

	if (!partial || k == 0)
		return;
	r = &t->recs[t->next];
	t->next = (t->next + 1) % PTCP_CSUMTAP_RECS;
	memcpy(r->hdr, hdr, k);
	r->len = (uint8_t)k;
}

bool ptcp_csumtap_match(struct ptcp_csumtap *t, const uint8_t *ip, size_t len)
{
	size_t k = key_len(ip, len);
	unsigned i, at;

	if (k == 0)
		return false;
	/* Oldest first: the raw socket delivers in about the order the tap
	 * saw. */
	for (i = 0; i < PTCP_CSUMTAP_RECS; i++) {
		struct ptcp_csumtap_rec *r;

		at = (t->next + i) % PTCP_CSUMTAP_RECS;
		r = &t->recs[at];
		if (r->len == k && memcmp(r->hdr, ip, k) == 0) {
			r->len = 0;
			return true;
		}
	}
	return false;
}

/* Reads what the tap has queued into records. */
static void drain(struct ptcp_csumtap *t)
{
	uint8_t bufs[READ_BATCH][PTCP_BPF_PARTIAL_SNAP];
	union {
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} ctl[READ_BATCH];
	struct sockaddr_ll from[READ_BATCH];
	struct mmsghdr msgs[READ_BATCH];
	struct iovec iov[READ_BATCH];
	int i, n;

	do {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < READ_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		do
			n = recvmmsg(t->fd, msgs, READ_BATCH, MSG_DONTWAIT, NULL);
		while (n < 0 && errno == EINTR);
		for (i = 0; i < n; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;
			struct cmsghdr *cm;
			bool partial = false;

			/* What this host sends (loopback's first copy) is not
			 * something it received. */
			if (from[i].sll_pkttype == PACKET_OUTGOING)
				continue;
			for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
				struct tpacket_auxdata aux;

				if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA ||
				    cm->cmsg_len < CMSG_LEN(sizeof(aux)))
					continue;
				memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
				partial = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
			}
			ptcp_csumtap_note(t, bufs[i], msgs[i].msg_len, partial);
		}
	} while (n == READ_BATCH);
}

bool ptcp_csumtap_vouches(struct ptcp_csumtap *t, const uint8_t *ip, size_t len)
{
	bool ok = false;

	if (t->fd >= 0) {
		ok = ptcp_csumtap_match(t, ip, len);
		if (!ok) {
			drain(t);
			ok = ptcp_csumtap_match(t, ip, len);
		}
	}
	if (ok)
		t->vouched++;
	else
		t->refused++;
	return ok;
}
