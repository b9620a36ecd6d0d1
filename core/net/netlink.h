/* Netlink plumbing the drivers share: building a request (a header, one
 * fixed part, attributes), checking and parsing the messages of an answer
 * (pure: they take a buffer), and one request/answer exchange on a socket
 * (rtnetlink, ctnetlink, xfrm).
 *
 * rtattr and nlattr have the same layout, so the attribute helpers serve
 * every family. The parsers want msg aligned as a struct nlmsghdr.
 * Functions return 0 or a negative errno value. */
#ifndef PTCP_NETLINK_H
#define PTCP_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* A request: the header, the fixed part of its family, attributes. */
struct ptcp_nl_req {
	struct nlmsghdr nh;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
		struct nfgenmsg nf;
		struct ifinfomsg ifi;
		struct tcmsg tc;
	} u;
	uint8_t attrs[192];
};

/* --- messages (pure) --------------------------------------------------------- */

/* The attributes in p[0..len), by type (types above max are ignored; tb
 * has max + 1 entries). Returns 0 or -EPROTO when an attribute runs past
 * the end. */
int ptcp_nl_parse_attrs(const uint8_t *p, size_t len, const struct rtattr **tb, unsigned max);

static inline size_t ptcp_nl_attr_len(const struct rtattr *a)
{
	return a->rta_len - RTA_LENGTH(0);
}

static inline const uint8_t *ptcp_nl_attr_data(const struct rtattr *a)
{
	return (const uint8_t *)RTA_DATA(a);
}

/* A 32-bit attribute in the host's byte order; the caller has checked
 * that it is 4 bytes long. */
static inline uint32_t ptcp_nl_attr_u32(const struct rtattr *a)
{
	uint32_t v;

	memcpy(&v, RTA_DATA(a), sizeof(v));
	return v;
}

/* Checks the netlink header of msg[0..len): its length, an error reply,
 * the type wanted with at least fixed bytes of payload. Returns the
 * payload length, the negative errno of an NLMSG_ERROR, or -EPROTO. */
int ptcp_nl_check(const void *msg, size_t len, uint16_t type, size_t fixed);

/* ptcp_nl_check() of msg[0..len) for type, then its fixed part copied to
 * fixed[0..flen) and its attributes parsed into tb (max + 1 entries).
 * Returns 0, the negative errno of an NLMSG_ERROR, or -EPROTO. */
int ptcp_nl_parse(const void *msg, size_t len, uint16_t type, void *fixed, size_t flen,
		  const struct rtattr **tb, unsigned max);

/* The answer to a request with NLM_F_ACK: 0, or the error's -errno
 * (-EPROTO: not an NLMSG_ERROR). */
int ptcp_nl_ack(const void *msg, size_t len);

/* One datagram buf[0..len) of an answer to the request with sequence
 * number seq: hands each of its messages with that number (others are
 * left from an earlier request) to fn, until NLMSG_DONE (*done says
 * whether it came, or the answer goes on in the next datagram). fn
 * returns 0 to go on (a dump), anything else to stop with that value.
 * Returns 0, fn's value, or -EPROTO (a message runs past the datagram). */
int ptcp_nl_walk(const void *buf, size_t len, uint32_t seq,
		 int (*fn)(const void *msg, size_t len, void *ctx), void *ctx, bool *done);

/* --- requests ------------------------------------------------------------------ */

/* Appends an attribute to r. Returns its offset, for ptcp_nl_nest_end(). */
size_t ptcp_nl_add_attr(struct ptcp_nl_req *r, uint16_t type, const void *data, size_t len);
size_t ptcp_nl_nest_begin(struct ptcp_nl_req *r, uint16_t type);
void ptcp_nl_nest_end(struct ptcp_nl_req *r, size_t off);

/* --- the socket ------------------------------------------------------------------ */

/* A netlink socket of the given family (NETLINK_ROUTE, ...) with a
 * one-second receive timeout, so that a silent kernel cannot hang us.
 * Returns the descriptor or -errno. */
int ptcp_nl_open(int family);

/* Sends req on fd with the next sequence number (*seq is advanced) and
 * hands each message of the answer to fn as ptcp_nl_walk() does. Returns
 * 0 at the end of a dump, fn's value, or -errno (-ETIMEDOUT: the kernel
 * did not answer within the socket's timeout; -EPROTO: a malformed
 * answer). Not reentrant: the answer is read into one static buffer. */
int ptcp_nl_exchange(int fd, uint32_t *seq, struct ptcp_nl_req *req,
		     int (*fn)(const void *msg, size_t len, void *ctx), void *ctx);

/* Sends req on fd and copies the reply with its sequence number (replies
 * to an earlier request that timed out are skipped) to buf. Returns the
 * reply's length, or -errno (-EPROTO: longer than cap, or no reply before
 * NLMSG_DONE). */
int ptcp_nl_talk(int fd, uint32_t *seq, struct ptcp_nl_req *req, uint8_t *buf, size_t cap);

#endif
