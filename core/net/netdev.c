#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netdev.h"
#include "netlink.h"

/* Dumps made again when the devices change under one (NLM_F_DUMP_INTR). */
#define DUMP_TRIES 3

/* --- pure helpers ---------------------------------------------------------- */

/* A NUL-terminated string attribute that fits cap bytes (the NUL
 * included), not empty. Returns 0 or -EPROTO. */
static int attr_str(const struct rtattr *a, char *out, size_t cap)
{
	size_t len = ptcp_nl_attr_len(a);
	const uint8_t *p = ptcp_nl_attr_data(a);
	const uint8_t *nul = memchr(p, '\0', len);

	if (!nul || nul == p || (size_t)(nul - p) >= cap)
		return -EPROTO;
	memcpy(out, p, (size_t)(nul - p) + 1);
	return 0;
}

/* An optional 32-bit attribute: 0 (absent, *v = 0) or -EPROTO (another
 * size). */
static int attr_s32(const struct rtattr *a, int *v)
{
	*v = 0;
	if (!a)
		return 0;
	if (ptcp_nl_attr_len(a) != 4)
		return -EPROTO;
	*v = (int)ptcp_nl_attr_u32(a);
	return 0;
}

int ptcp_netdev_parse_link(const void *msg, size_t len, struct ptcp_netdev_info *info)
{
	const struct rtattr *tb[IFLA_MAX + 1];
	struct ifinfomsg ifi;
	struct nlmsghdr nh;
	int rv, netnsid;

	if ((rv = ptcp_nl_parse(msg, len, RTM_NEWLINK, &ifi, sizeof(ifi), tb, IFLA_MAX)) != 0)
		return rv;
	memcpy(&nh, msg, sizeof(nh));
	memset(info, 0, sizeof(*info));
	if (ifi.ifi_index <= 0 || !tb[IFLA_IFNAME] ||
	    attr_str(tb[IFLA_IFNAME], info->name, sizeof(info->name)) != 0)
		return -EPROTO;
	info->ifindex = ifi.ifi_index;
	if (attr_s32(tb[IFLA_MASTER], &info->master) != 0 ||
	    attr_s32(tb[IFLA_LINK], &info->link) != 0 ||
	    attr_s32(tb[IFLA_LINK_NETNSID], &netnsid) != 0)
		return -EPROTO;
	info->link_netnsid = tb[IFLA_LINK_NETNSID] != NULL;
	info->dump_intr = (nh.nlmsg_flags & NLM_F_DUMP_INTR) != 0;
	return 0;
}

static int links_add(const void *msg, size_t len, void *ctx)
{
	struct ptcp_netdev_links *l = ctx;
	struct ptcp_netdev_info info, *more;
	unsigned cap;
	int rv;

	if ((rv = ptcp_netdev_parse_link(msg, len, &info)) != 0)
		return rv;
	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 32;
		if (cap < l->cap || !(more = realloc(l->all, cap * sizeof(*more))))
			return -ENOMEM;
		l->all = more;
		l->cap = cap;
	}
	l->all[l->n++] = info;
	l->dump_intr |= info.dump_intr;
	return 0;
}

int ptcp_netdev_links_feed(struct ptcp_netdev_links *l, const void *buf, size_t len, uint32_t seq,
			   bool *done)
{
	return ptcp_nl_walk(buf, len, seq, links_add, l, done);
}

void ptcp_netdev_links_free(struct ptcp_netdev_links *l)
{
	free(l->all);
	memset(l, 0, sizeof(*l));
}

/* Whether d is a lower device of another of all[0..n). */
static bool is_lower(const struct ptcp_netdev_info *all, unsigned n, const struct ptcp_netdev_info *d)
{
	const struct ptcp_netdev_info *up;
	unsigned i;

	for (i = 0; i < n; i++) {
		up = &all[i];
		if (up == d || up->link_netnsid || up->link != d->ifindex || up->link == up->ifindex)
			continue;
		/* Both ends of a veth here name each other: peers. */
		if (!d->link_netnsid && d->link == up->ifindex)
			continue;
		return true;
	}
	return false;
}

unsigned ptcp_netdev_select(const struct ptcp_netdev_info *all, unsigned n,
			    struct ptcp_netdev *out, unsigned cap)
{
	unsigned i, k, count = 0, have = 0;

	for (i = 0; i < n; i++) {
		if (all[i].master != 0 || is_lower(all, n, &all[i]))
			continue;
		count++;
		/* Keep the cap smallest ifindexes, in order (a dump comes in
		 * the order of the kernel's device hash, not sorted). */
		for (k = have; k > 0 && out[k - 1].ifindex > all[i].ifindex; k--)
			if (k < cap)
				out[k] = out[k - 1];
		if (k >= cap)
			continue;
		out[k].ifindex = all[i].ifindex;
		memcpy(out[k].name, all[i].name, sizeof(out[k].name));
		if (have < cap)
			have++;
	}
	return count;
}

int ptcp_netdev_parse_qdisc(const void *msg, size_t len, int *ifindex,
			    char kind[PTCP_NETDEV_KIND_LEN])
{
	const struct rtattr *tb[TCA_MAX + 1];
	struct tcmsg tc;
	int rv;

	if ((rv = ptcp_nl_parse(msg, len, RTM_NEWQDISC, &tc, sizeof(tc), tb, TCA_MAX)) != 0)
		return rv;
	if (!tb[TCA_KIND] || attr_str(tb[TCA_KIND], kind, PTCP_NETDEV_KIND_LEN) != 0)
		return -EPROTO;
	*ifindex = tc.tcm_ifindex;
	/* "ingress" is the classic hook; "clsact" has it and an egress one. */
	return strcmp(kind, "ingress") == 0 || strcmp(kind, "clsact") == 0;
}

/* --- asking the kernel ------------------------------------------------------ */

/* A dump request of type with an empty fixed part of size fixed. */
static void dump_request(struct ptcp_nl_req *req, uint16_t type, size_t fixed)
{
	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(fixed);
	req->nh.nlmsg_type = type;
	req->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
}

static int dump_links(int fd, uint32_t *seq, struct ptcp_netdev_links *l)
{
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;
	struct ptcp_nl_req req;

	dump_request(&req, RTM_GETLINK, sizeof(req.u.ifi));
	req.u.ifi.ifi_family = AF_UNSPEC;
	/* Only the names and links are wanted: no statistics (kernels
	 * before 4.19 ignore the bit). */
	ptcp_nl_add_attr(&req, IFLA_EXT_MASK, &mask, sizeof(mask));
	l->n = 0;
	l->dump_intr = false;
	return ptcp_nl_exchange(fd, seq, &req, links_add, l);
}

int ptcp_netdev_ring_devices(struct ptcp_netdev *out, unsigned cap, unsigned *n, unsigned *total,
			     char *why, size_t whylen)
{
	struct ptcp_netdev_links l = { 0 };
	uint32_t seq = 0;
	unsigned count, tries = 0;
	int fd, rv;

	*n = 0;
	if (total)
		*total = 0;
	fd = ptcp_nl_open(NETLINK_ROUTE);
	if (fd < 0) {
		snprintf(why, whylen, "netlink socket: %s", strerror(-fd));
		return fd;
	}
	do
		rv = dump_links(fd, &seq, &l);
	while (rv == 0 && l.dump_intr && ++tries < DUMP_TRIES);
	close(fd);
	if (rv == 0 && l.dump_intr)
		rv = -EAGAIN;
	if (rv != 0) {
		snprintf(why, whylen, "RTM_GETLINK dump: %s",
			 rv == -EPROTO ? "malformed answer" :
			 rv == -EAGAIN ? "the devices kept changing while dumped" : strerror(-rv));
		ptcp_netdev_links_free(&l);
		return rv;
	}
	count = ptcp_netdev_select(l.all, l.n, out, cap);
	*n = count < cap ? count : cap;
	if (total)
		*total = l.n;
	if (count > cap)
		snprintf(why, whylen, "%u devices qualify, room for %u", count, cap);
	else
		snprintf(why, whylen, "%u of %u devices", count, l.n);
	ptcp_netdev_links_free(&l);
	return count > cap ? -E2BIG : 0;
}

struct qdisc_found {
	int ifindex;
	char kind[PTCP_NETDEV_KIND_LEN];
};

static int qdisc_one(const void *msg, size_t len, void *ctx)
{
	struct qdisc_found *f = ctx;

	/* 1 stops the dump at the first hook. */
	return ptcp_netdev_parse_qdisc(msg, len, &f->ifindex, f->kind);
}

int ptcp_netdev_ingress_qdisc(char *what, size_t cap)
{
	struct qdisc_found f = { 0 };
	char name[IF_NAMESIZE];
	struct ptcp_nl_req req;
	uint32_t seq = 0;
	int fd, rv;

	fd = ptcp_nl_open(NETLINK_ROUTE);
	if (fd < 0) {
		snprintf(what, cap, "netlink socket: %s", strerror(-fd));
		return fd;
	}
	dump_request(&req, RTM_GETQDISC, sizeof(req.u.tc));
	req.u.tc.tcm_family = AF_UNSPEC;
	rv = ptcp_nl_exchange(fd, &seq, &req, qdisc_one, &f);
	close(fd);
	if (rv < 0) {
		snprintf(what, cap, "RTM_GETQDISC dump: %s",
			 rv == -EPROTO ? "malformed answer" : strerror(-rv));
		return rv;
	}
	if (rv == 0) {
		snprintf(what, cap, "no ingress or clsact qdisc");
		return 0;
	}
	if (f.ifindex > 0 && if_indextoname((unsigned)f.ifindex, name))
		snprintf(what, cap, "qdisc %s on %s", f.kind, name);
	else
		snprintf(what, cap, "qdisc %s on ifindex %d", f.kind, f.ifindex);
	return 1;
}
