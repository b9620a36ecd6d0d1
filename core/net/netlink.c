#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "netlink.h"

/* --- messages ------------------------------------------------------------------ */

int ptcp_nl_parse_attrs(const uint8_t *p, size_t len, const struct rtattr **tb, unsigned max)
{
	const struct rtattr *a;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= sizeof(struct rtattr)) {
		a = (const struct rtattr *)(const void *)p;
		if (a->rta_len < sizeof(*a) || a->rta_len > len)
			return -EPROTO;
		if (a->rta_type <= max)
			tb[a->rta_type] = a;
		if (RTA_ALIGN(a->rta_len) >= len)
			break;
		p += RTA_ALIGN(a->rta_len);
		len -= RTA_ALIGN(a->rta_len);
	}
	return 0;
}

int ptcp_nl_check(const void *msg, size_t len, uint16_t type, size_t fixed)
{
	struct nlmsghdr nh;
	struct nlmsgerr e;

	if (len < sizeof(nh))
		return -EPROTO;
	memcpy(&nh, msg, sizeof(nh));
	if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > len)
		return -EPROTO;
	if (nh.nlmsg_type == NLMSG_ERROR) {
		if (nh.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
			return -EPROTO;
		memcpy(&e, NLMSG_DATA(msg), sizeof(e));
		return e.error < 0 ? e.error : -EPROTO;
	}
	if (nh.nlmsg_type != type || nh.nlmsg_len < NLMSG_LENGTH(fixed))
		return -EPROTO;
	return (int)(nh.nlmsg_len - NLMSG_LENGTH(0));
}

int ptcp_nl_parse(const void *msg, size_t len, uint16_t type, void *fixed, size_t flen,
		  const struct rtattr **tb, unsigned max)
{
	const uint8_t *body = (const uint8_t *)NLMSG_DATA(msg);
	int n = ptcp_nl_check(msg, len, type, flen);

	if (n < 0)
		return n;
	memcpy(fixed, body, flen);
	/* A payload of just the fixed part, unpadded, has no attributes. */
	if ((size_t)n <= NLMSG_ALIGN(flen)) {
		memset(tb, 0, sizeof(*tb) * (max + 1));
		return 0;
	}
	return ptcp_nl_parse_attrs(body + NLMSG_ALIGN(flen), (size_t)n - NLMSG_ALIGN(flen), tb, max);
}

int ptcp_nl_ack(const void *msg, size_t len)
{
	struct nlmsghdr nh;
	struct nlmsgerr e;

	if (len < NLMSG_LENGTH(sizeof(e)))
		return -EPROTO;
	memcpy(&nh, msg, sizeof(nh));
	if (nh.nlmsg_type != NLMSG_ERROR || nh.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
		return -EPROTO;
	memcpy(&e, NLMSG_DATA(msg), sizeof(e));
	return e.error;
}

int ptcp_nl_walk(const void *buf, size_t len, uint32_t seq,
		 int (*fn)(const void *msg, size_t len, void *ctx), void *ctx, bool *done)
{
	const uint8_t *p = buf;
	const struct nlmsghdr *nh;
	size_t off;
	int rv;

	*done = false;
	for (off = 0; off + sizeof(*nh) <= len; off += NLMSG_ALIGN(nh->nlmsg_len)) {
		nh = (const struct nlmsghdr *)(const void *)(p + off);
		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > len - off)
			return -EPROTO;
		if (nh->nlmsg_seq != seq)
			continue;
		if (nh->nlmsg_type == NLMSG_DONE) {
			*done = true;
			return 0;
		}
		if ((rv = fn(nh, nh->nlmsg_len, ctx)) != 0)
			return rv;
	}
	return 0;
}

/* --- requests ------------------------------------------------------------------ */

size_t ptcp_nl_add_attr(struct ptcp_nl_req *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr *a = (struct rtattr *)(void *)((uint8_t *)r + off);

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = (uint32_t)(off + RTA_ALIGN(a->rta_len));
	return off;
}

size_t ptcp_nl_nest_begin(struct ptcp_nl_req *r, uint16_t type)
{
	return ptcp_nl_add_attr(r, type | NLA_F_NESTED, NULL, 0);
}

void ptcp_nl_nest_end(struct ptcp_nl_req *r, size_t off)
{
	struct rtattr *a = (struct rtattr *)(void *)((uint8_t *)r + off);

	a->rta_len = (unsigned short)(r->nh.nlmsg_len - off);
}

/* --- the socket ------------------------------------------------------------------ */

int ptcp_nl_open(int family)
{
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	struct sockaddr_nl me;
	int fd, rv;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, family);
	if (fd < 0)
		return -errno;
	memset(&me, 0, sizeof(me));
	me.nl_family = AF_NETLINK;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		rv = -errno;
		close(fd);
		return rv;
	}
	return fd;
}

/* Sends req to the kernel with the next sequence number. Returns 0 or
 * -errno. */
static int nl_send(int fd, uint32_t *seq, struct ptcp_nl_req *req)
{
	struct sockaddr_nl kernel;
	ssize_t n;

	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;
	req->nh.nlmsg_seq = ++*seq;
	do
		n = sendto(fd, req, req->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int ptcp_nl_exchange(int fd, uint32_t *seq, struct ptcp_nl_req *req,
		     int (*fn)(const void *msg, size_t len, void *ctx), void *ctx)
{
	_Alignas(8) static uint8_t buf[65536];
	bool done;
	ssize_t n;
	int rv;

	if ((rv = nl_send(fd, seq, req)) != 0)
		return rv;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if ((size_t)n > sizeof(buf))
			return -EPROTO;
		if ((rv = ptcp_nl_walk(buf, (size_t)n, *seq, fn, ctx, &done)) != 0 || done)
			return rv;
	}
}

struct nl_reply {
	uint8_t *buf;
	size_t cap;
};

static int take_reply(const void *msg, size_t len, void *ctx)
{
	struct nl_reply *r = ctx;

	if (len > r->cap)
		return -EPROTO;
	memcpy(r->buf, msg, len);
	return (int)len;
}

int ptcp_nl_talk(int fd, uint32_t *seq, struct ptcp_nl_req *req, uint8_t *buf, size_t cap)
{
	struct nl_reply r = { buf, cap };
	int rv = ptcp_nl_exchange(fd, seq, req, take_reply, &r);

	return rv == 0 ? -EPROTO : rv;
}
