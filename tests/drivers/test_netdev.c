/* Tests of the pure parts of core/net/netdev.c: the parse of RTM_NEWLINK
 * and RTM_NEWQDISC messages (hand-built here, as the kernel sends them),
 * a multipart dump fed one datagram at a time, and which devices a packet
 * ring may take packets on. Malformed messages are parsed from a heap
 * copy of exactly their length, so that a sanitizer build catches a read
 * past the end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "check.h"
#include "netdev.h"

#define SEQ 7

/* --- building messages ---------------------------------------------------------- */

/* One datagram of messages: buf[0..used), the last one begun at cur. */
static _Alignas(8) uint8_t buf[4096];
static size_t used, cur;

static void dgram_reset(void)
{
	memset(buf, 0, sizeof(buf));
	used = cur = 0;
}

static void set_len(uint32_t len)
{
	memcpy(buf + cur + offsetof(struct nlmsghdr, nlmsg_len), &len, sizeof(len));
}

/* Begins a message of type with flags, sequence number seq and the fixed
 * part fixed[0..flen). */
static void msg_begin(uint16_t type, uint16_t flags, uint32_t seq, const void *fixed, size_t flen)
{
	struct nlmsghdr nh = { .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq };

	cur = used;
	nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(flen);
	memcpy(buf + cur, &nh, sizeof(nh));
	if (flen)
		memcpy(buf + cur + NLMSG_HDRLEN, fixed, flen);
	used = cur + NLMSG_ALIGN(nh.nlmsg_len);
}

/* Appends an attribute to the message begun last. */
static void msg_attr(uint16_t type, const void *v, size_t len)
{
	struct rtattr a = { .rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type };

	memcpy(buf + used, &a, sizeof(a));
	memcpy(buf + used + RTA_LENGTH(0), v, len);
	used += RTA_ALIGN(a.rta_len);
	set_len((uint32_t)(used - cur));
}

static void msg_u32(uint16_t type, uint32_t v)
{
	msg_attr(type, &v, sizeof(v));
}

/* An RTM_NEWLINK for a device; master, link 0 and netnsid < 0 leave the
 * attribute out. */
static void link_msg(uint32_t seq, int ifindex, const char *name, int master, int link, int netnsid)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	msg_begin(RTM_NEWLINK, NLM_F_MULTI, seq, &ifi, sizeof(ifi));
	msg_attr(IFLA_IFNAME, name, strlen(name) + 1);
	msg_u32(IFLA_MTU, 1500);
	if (master)
		msg_u32(IFLA_MASTER, (uint32_t)master);
	if (link)
		msg_u32(IFLA_LINK, (uint32_t)link);
	if (netnsid >= 0)
		msg_u32(IFLA_LINK_NETNSID, (uint32_t)netnsid);
}

static void qdisc_msg(int ifindex, const char *kind)
{
	struct tcmsg tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex };

	msg_begin(RTM_NEWQDISC, NLM_F_MULTI, SEQ, &tc, sizeof(tc));
	if (kind)
		msg_attr(TCA_KIND, kind, strlen(kind) + 1);
}

static void error_msg(uint32_t seq, int err)
{
	struct nlmsgerr e = { .error = err };

	msg_begin(NLMSG_ERROR, 0, seq, &e, sizeof(e));
}

static void done_msg(uint32_t seq)
{
	int zero = 0;

	msg_begin(NLMSG_DONE, NLM_F_MULTI, seq, &zero, sizeof(zero));
}

/* ptcp_netdev_parse_link() of the first len bytes of buf, from a heap
 * copy of exactly that length. */
static int parse_link_cut(size_t len, struct ptcp_netdev_info *info)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rv;

	CHECK(copy != NULL);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	rv = ptcp_netdev_parse_link(copy, len, info);
	free(copy);
	return rv;
}

/* --- RTM_NEWLINK ------------------------------------------------------------------ */

static void test_parse_link(void)
{
	struct ptcp_netdev_info d;

	dgram_reset();
	link_msg(SEQ, 9, "veth0", 4, 2, 1);
	CHECK_INT(ptcp_netdev_parse_link(buf, used, &d), 0);
	CHECK_INT(d.ifindex, 9);
	CHECK(strcmp(d.name, "veth0") == 0);
	CHECK_INT(d.master, 4);
	CHECK_INT(d.link, 2);
	CHECK(d.link_netnsid);
	CHECK(!d.dump_intr);

	/* No master, no link: zeros. */
	dgram_reset();
	link_msg(SEQ, 1, "lo", 0, 0, -1);
	CHECK_INT(ptcp_netdev_parse_link(buf, used, &d), 0);
	CHECK_INT(d.ifindex, 1);
	CHECK(strcmp(d.name, "lo") == 0);
	CHECK_INT(d.master, 0);
	CHECK_INT(d.link, 0);
	CHECK(!d.link_netnsid);

	/* The longest name there is (IF_NAMESIZE - 1). */
	dgram_reset();
	link_msg(SEQ, 3, "abcdefghijklmno", 0, 0, -1);
	CHECK_INT(ptcp_netdev_parse_link(buf, used, &d), 0);
	CHECK(strcmp(d.name, "abcdefghijklmno") == 0);

	/* The dump was interrupted by a change. */
	buf[offsetof(struct nlmsghdr, nlmsg_flags)] |= NLM_F_DUMP_INTR;
	CHECK_INT(ptcp_netdev_parse_link(buf, used, &d), 0);
	CHECK(d.dump_intr);

	/* An error reply is its errno; another type is not ours. */
	dgram_reset();
	error_msg(SEQ, -EPERM);
	CHECK_INT(ptcp_netdev_parse_link(buf, used, &d), -EPERM);
	dgram_reset();
	qdisc_msg(2, "noqueue");
	CHECK_INT(ptcp_netdev_parse_link(buf, used, &d), -EPROTO);
}

/* Every cut of a good message is refused, read from a copy of exactly
 * the cut's length. */
static void test_parse_link_truncated(void)
{
	struct ptcp_netdev_info d;
	size_t full, len;

	dgram_reset();
	link_msg(SEQ, 9, "veth0", 4, 2, 1);
	full = used;
	CHECK_INT(parse_link_cut(full, &d), 0);
	for (len = 0; len < full; len++) {
		int rv = parse_link_cut(len, &d);

		if (rv != -EPROTO)
			check_fail(__FILE__, __LINE__, "cut at %zu of %zu: %d, want -EPROTO", len, full, rv);
	}
	/* The header claims less than its fixed part. */
	set_len((uint32_t)NLMSG_LENGTH(sizeof(struct ifinfomsg) - 1));
	CHECK_INT(parse_link_cut(full, &d), -EPROTO);
}

static void test_parse_link_malformed(void)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 5 };
	struct ptcp_netdev_info d;
	static const uint16_t ints[] = { IFLA_MASTER, IFLA_LINK, IFLA_LINK_NETNSID };
	struct rtattr a;
	uint16_t two = 2;
	size_t i;

	/* An attribute that claims more than the message holds. */
	dgram_reset();
	link_msg(SEQ, 5, "eth0", 0, 0, -1);
	memcpy(&a, buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifi)), sizeof(a));
	a.rta_len = (unsigned short)(used + 4);
	memcpy(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifi)), &a, sizeof(a));
	CHECK_INT(parse_link_cut(used, &d), -EPROTO);
	/* One shorter than its own header. */
	a.rta_len = 2;
	memcpy(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifi)), &a, sizeof(a));
	CHECK_INT(parse_link_cut(used, &d), -EPROTO);

	/* A name without its NUL, an empty one, one too long. */
	dgram_reset();
	msg_begin(RTM_NEWLINK, 0, SEQ, &ifi, sizeof(ifi));
	msg_attr(IFLA_IFNAME, "eth0", 4);
	CHECK_INT(parse_link_cut(used, &d), -EPROTO);
	dgram_reset();
	msg_begin(RTM_NEWLINK, 0, SEQ, &ifi, sizeof(ifi));
	msg_attr(IFLA_IFNAME, "", 1);
	CHECK_INT(parse_link_cut(used, &d), -EPROTO);
	dgram_reset();
	link_msg(SEQ, 5, "abcdefghijklmnop", 0, 0, -1);
	CHECK_INT(parse_link_cut(used, &d), -EPROTO);
	/* No name at all. */
	dgram_reset();
	msg_begin(RTM_NEWLINK, 0, SEQ, &ifi, sizeof(ifi));
	msg_u32(IFLA_MTU, 1500);
	CHECK_INT(parse_link_cut(used, &d), -EPROTO);

	/* IFLA_MASTER, IFLA_LINK, IFLA_LINK_NETNSID of the wrong size. */
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		dgram_reset();
		link_msg(SEQ, 5, "eth0", 0, 0, -1);
		msg_attr(ints[i], &two, sizeof(two));
		CHECK_INT(parse_link_cut(used, &d), -EPROTO);
	}

	/* ifindex 0 names no device. */
	dgram_reset();
	link_msg(SEQ, 0, "eth0", 0, 0, -1);
	CHECK_INT(parse_link_cut(used, &d), -EPROTO);
}

/* --- a dump, datagram by datagram -------------------------------------------------- */

static void test_multipart_dump(void)
{
	struct ptcp_netdev_links l = { 0 };
	bool done = true;

	/* First datagram: two devices, and a message left from an earlier
	 * request (another sequence number), which is skipped. */
	dgram_reset();
	link_msg(SEQ, 1, "lo", 0, 0, -1);
	link_msg(SEQ - 1, 50, "stale", 0, 0, -1);
	link_msg(SEQ, 2, "eth0", 0, 0, -1);
	CHECK_INT(ptcp_netdev_links_feed(&l, buf, used, SEQ, &done), 0);
	CHECK(!done);
	CHECK_EQ(l.n, 2);
	/* Second: one more, NLMSG_DONE, and nothing after it is taken. */
	dgram_reset();
	link_msg(SEQ, 3, "eth0.10", 0, 2, -1);
	done_msg(SEQ);
	link_msg(SEQ, 4, "late", 0, 0, -1);
	CHECK_INT(ptcp_netdev_links_feed(&l, buf, used, SEQ, &done), 0);
	CHECK(done);
	CHECK_EQ(l.n, 3);
	if (l.n == 3) {
		CHECK_INT(l.all[0].ifindex, 1);
		CHECK_INT(l.all[1].ifindex, 2);
		CHECK_INT(l.all[2].ifindex, 3);
		CHECK(strcmp(l.all[2].name, "eth0.10") == 0);
		CHECK_INT(l.all[2].link, 2);
	}
	CHECK(!l.dump_intr);
	ptcp_netdev_links_free(&l);
	CHECK(l.all == NULL && l.n == 0);

	/* More devices than the first allocation holds. */
	for (int i = 1; i <= 100; i++) {
		char name[IF_NAMESIZE];

		dgram_reset();
		snprintf(name, sizeof(name), "d%d", i);
		link_msg(SEQ, i, name, 0, 0, -1);
		CHECK_INT(ptcp_netdev_links_feed(&l, buf, used, SEQ, &done), 0);
	}
	CHECK_EQ(l.n, 100);
	if (l.n == 100)
		CHECK(strcmp(l.all[99].name, "d100") == 0);
	ptcp_netdev_links_free(&l);

	/* A change during the dump is noticed. */
	dgram_reset();
	link_msg(SEQ, 1, "lo", 0, 0, -1);
	buf[cur + offsetof(struct nlmsghdr, nlmsg_flags)] |= NLM_F_DUMP_INTR;
	done_msg(SEQ);
	CHECK_INT(ptcp_netdev_links_feed(&l, buf, used, SEQ, &done), 0);
	CHECK(done && l.dump_intr);
	ptcp_netdev_links_free(&l);

	/* An error in the dump (no permission, say) is its errno. */
	dgram_reset();
	error_msg(SEQ, -EACCES);
	CHECK_INT(ptcp_netdev_links_feed(&l, buf, used, SEQ, &done), -EACCES);
	ptcp_netdev_links_free(&l);

	/* A message that runs past the datagram, a malformed one in it. */
	dgram_reset();
	link_msg(SEQ, 1, "lo", 0, 0, -1);
	link_msg(SEQ, 2, "eth0", 0, 0, -1);
	CHECK_INT(ptcp_netdev_links_feed(&l, buf, used - 1, SEQ, &done), -EPROTO);
	ptcp_netdev_links_free(&l);
	dgram_reset();
	link_msg(SEQ, 1, "lo", 0, 0, -1);
	link_msg(SEQ, 0, "bad", 0, 0, -1);
	CHECK_INT(ptcp_netdev_links_feed(&l, buf, used, SEQ, &done), -EPROTO);
	ptcp_netdev_links_free(&l);
}

/* --- the selection ------------------------------------------------------------------ */

/* The devices of a namespace written as "IFINDEX:NAME[/mMASTER][/lLINK[n]]"
 * separated by spaces, where n marks a link with IFLA_LINK_NETNSID (an
 * ifindex of another namespace): "3:veth0/m2/l7n" is a bridge port whose
 * peer is ifindex 7 elsewhere. Returns how many, at most cap. */
static unsigned devices(const char *spec, struct ptcp_netdev_info *all, unsigned cap)
{
	unsigned n = 0;
	const char *p = spec;
	char *end;

	while (*p && n < cap) {
		struct ptcp_netdev_info *d = &all[n++];
		size_t len;

		memset(d, 0, sizeof(*d));
		d->ifindex = (int)strtol(p, &end, 10);
		CHECK(*end == ':');
		p = end + 1;
		len = strcspn(p, "/ ");
		CHECK(len > 0 && len < sizeof(d->name));
		memcpy(d->name, p, len < sizeof(d->name) ? len : sizeof(d->name) - 1);
		p += len;
		while (*p == '/') {
			char what = p[1];
			int v = (int)strtol(p + 2, &end, 10);

			CHECK(what == 'm' || what == 'l');
			if (what == 'm')
				d->master = v;
			else
				d->link = v;
			p = end;
			if (*p == 'n') {
				d->link_netnsid = true;
				p++;
			}
		}
		while (*p == ' ')
			p++;
	}
	return n;
}

/* ptcp_netdev_select() of the devices spec with room for 16; the names
 * it keeps, space-separated. */
static const char *selected(const char *spec)
{
	static char names[256];
	struct ptcp_netdev_info all[16];
	struct ptcp_netdev out[16];
	unsigned n = devices(spec, all, 16), k, count = ptcp_netdev_select(all, n, out, 16);
	size_t at = 0;

	names[0] = '\0';
	for (k = 0; k < count && k < 16; k++)
		at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s", k ? " " : "",
				       out[k].name);
	return names;
}

#define CHECK_SELECTED(spec, want)                                                      \
	do {                                                                            \
		const char *got_ = selected(spec);                                      \
		if (strcmp(got_, want) != 0)                                            \
			check_fail(__FILE__, __LINE__, "%s: selected '%s', want '%s'", spec, \
				   got_, want);                                         \
	} while (0)

static void test_select_bridge(void)
{
	/* A bridge with two veths (peers in another namespace) as ports: a
	 * port's packets are seen again on the bridge. */
	CHECK_SELECTED("1:lo 2:br0 3:veth0/m2/l7n 4:veth1/m2/l8n", "lo br0");
	/* A bond of one, and its bridge. */
	CHECK_SELECTED("1:lo 2:bond0/m4 3:eth0/m2 4:br0", "lo br0");
}

static void test_select_vlan(void)
{
	/* A VLAN on a veth whose peer is elsewhere: the parent goes, the
	 * VLAN stays; so does a macvlan's lower device, and a VLAN on a
	 * VLAN leaves only the top. */
	CHECK_SELECTED("1:lo 2:veth0/l9n 3:veth0.10/l2 4:eth1 5:mv0/l4", "lo veth0.10 mv0");
	CHECK_SELECTED("2:eth0 3:eth0.10/l2 4:eth0.10.20/l3", "eth0.10.20");
}

static void test_select_links_that_do_not_count(void)
{
	/* veth0's peer is ifindex 5 of another namespace, not this
	 * namespace's dummy0; kept. A tunnel with IFLA_LINK 0 and a device
	 * whose IFLA_LINK is itself name no lower device. */
	CHECK_SELECTED("5:dummy0 2:veth0/l5n 3:gre1/l0 4:self/l4", "veth0 gre1 self dummy0");
	/* Both ends of a veth in this namespace name each other: peers,
	 * both kept; a VLAN on one end still takes that end; one end a
	 * bridge port (the netns test's topology). */
	CHECK_SELECTED("1:lo 2:va/l3 3:vb/l2", "lo va vb");
	CHECK_SELECTED("2:va/l3 3:vb/l2 4:vb.5/l3", "va vb.5");
	CHECK_SELECTED("1:lo 2:br0 3:va/l4 4:vb/m2/l3", "lo br0 va");
}

static void test_select_order_and_cap(void)
{
	/* A dump in hash order (ifindex 257 before 2): out is sorted. */
	static const char spec[] = "257:d257 1:lo 40:d40 2:d2 3:port/m40 300:d300";
	struct ptcp_netdev_info all[6];
	struct ptcp_netdev out[3], five[5];
	unsigned i;

	CHECK_SELECTED(spec, "lo d2 d40 d257 d300");
	CHECK_EQ(devices(spec, all, 6), 6);
	/* Room for 3 of 5: the count says 5, the 3 smallest are written. */
	memset(out, 0, sizeof(out));
	CHECK_EQ(ptcp_netdev_select(all, 6, out, 3), 5);
	CHECK_INT(out[0].ifindex, 1);
	CHECK_INT(out[1].ifindex, 2);
	CHECK_INT(out[2].ifindex, 40);
	CHECK(strcmp(out[2].name, "d40") == 0);
	/* Room for exactly as many as qualify. */
	CHECK_EQ(ptcp_netdev_select(all, 6, five, 5), 5);
	for (i = 1; i < 5; i++)
		CHECK(five[i - 1].ifindex < five[i].ifindex);
	CHECK_INT(five[4].ifindex, 300);
	/* No room at all, no devices at all. */
	CHECK_EQ(ptcp_netdev_select(all, 6, NULL, 0), 5);
	CHECK_EQ(ptcp_netdev_select(all, 0, out, 3), 0);
}

/* --- RTM_NEWQDISC ------------------------------------------------------------------- */

static void test_parse_qdisc(void)
{
	static const char *const hooks[] = { "clsact", "ingress" };
	static const char *const others[] = { "pfifo_fast", "noqueue", "fq", "fq_codel", "mq" };
	char kind[PTCP_NETDEV_KIND_LEN];
	int ifindex = 0;
	size_t i;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		dgram_reset();
		qdisc_msg(6, hooks[i]);
		CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), 1);
		CHECK_INT(ifindex, 6);
		CHECK(strcmp(kind, hooks[i]) == 0);
	}
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		dgram_reset();
		qdisc_msg(2, others[i]);
		CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), 0);
		CHECK(strcmp(kind, others[i]) == 0);
	}
	/* A kind that only begins like one. */
	dgram_reset();
	qdisc_msg(2, "clsactx");
	CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), 0);

	/* No kind, an unterminated one, one too long, cut short, an error,
	 * another type. */
	dgram_reset();
	qdisc_msg(2, NULL);
	CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), -EPROTO);
	dgram_reset();
	qdisc_msg(2, NULL);
	msg_attr(TCA_KIND, "clsact", 6);
	CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), -EPROTO);
	dgram_reset();
	qdisc_msg(2, "abcdefghijklmnop");
	CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), -EPROTO);
	dgram_reset();
	qdisc_msg(2, "clsact");
	for (i = 0; i < used; i++) {
		uint8_t *copy = malloc(i ? i : 1);
		int rv;

		CHECK(copy != NULL);
		if (!copy)
			break;
		memcpy(copy, buf, i);
		rv = ptcp_netdev_parse_qdisc(copy, i, &ifindex, kind);
		free(copy);
		if (rv != -EPROTO)
			check_fail(__FILE__, __LINE__, "cut at %zu: %d, want -EPROTO", i, rv);
	}
	dgram_reset();
	error_msg(SEQ, -EOPNOTSUPP);
	CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), -EOPNOTSUPP);
	dgram_reset();
	link_msg(SEQ, 1, "lo", 0, 0, -1);
	CHECK_INT(ptcp_netdev_parse_qdisc(buf, used, &ifindex, kind), -EPROTO);
}

int main(void)
{
	RUN(test_parse_link);
	RUN(test_parse_link_truncated);
	RUN(test_parse_link_malformed);
	RUN(test_multipart_dump);
	RUN(test_select_bridge);
	RUN(test_select_vlan);
	RUN(test_select_links_that_do_not_count);
	RUN(test_select_order_and_cap);
	RUN(test_parse_qdisc);
	return check_summary();
}
