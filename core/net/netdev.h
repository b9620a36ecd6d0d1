/* Which devices a packet ring may take packets on, and whether the host
 * has tc ingress hooks the ring would get packets ahead of.
 *
 * A packet socket bound to ETH_P_ALL on no device sees a received packet
 * on every device it passes through in __netif_receive_skb_core(): on a
 * bridge (bond, team, VRF) port and again on the master; on a VLAN's
 * (macvlan's, ipvlan's) lower device and again on the upper one. And it
 * sees it before tc ingress (sch_handle_ingress) and the nftables netdev
 * ingress hook. The ring that takes our segments, and the netdev ingress
 * chain that drops them from IP input, must be on the devices where each
 * packet is seen once: ptcp_netdev_ring_devices() lists them. See
 * docs/driver.md, "The receive ring".
 *
 * The parsers and the selection are pure (they take buffers and records,
 * and are tested with hand-built messages); the two functions at the end
 * ask the kernel of the calling thread's network namespace. */
#ifndef PTCP_NETDEV_H
#define PTCP_NETDEV_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ptcp_netdev {
	int ifindex;
	char name[IF_NAMESIZE];
};

/* What an RTM_NEWLINK message says of one device. */
struct ptcp_netdev_info {
	int ifindex;
	char name[IF_NAMESIZE];
	int master;                   /* IFLA_MASTER: the bridge, bond, team or
	                               * VRF it is a port of; 0 for none */
	int link;                     /* IFLA_LINK: the device it sits on (a
	                               * VLAN's parent) or its peer (a veth's); 0
	                               * when absent */
	bool link_netnsid;            /* IFLA_LINK_NETNSID came: link is an
	                               * ifindex of another namespace */
	bool dump_intr;               /* NLM_F_DUMP_INTR: the devices changed
	                               * while the kernel dumped them */
};

/* The longest qdisc kind, with its NUL (the kernel's TCA_KIND policy:
 * IFNAMSIZ). */
#define PTCP_NETDEV_KIND_LEN 16

/* --- pure helpers (no system calls; tested) ------------------------------ */

/* Parses one message msg[0..len) of an RTM_GETLINK dump, an RTM_NEWLINK,
 * into *info. Returns 0, the negative errno of an NLMSG_ERROR, or -EPROTO
 * (another type, an attribute running past the message, ifindex not
 * positive, IFLA_IFNAME missing, empty, unterminated or longer than
 * IF_NAMESIZE - 1, IFLA_MASTER, IFLA_LINK or IFLA_LINK_NETNSID not 4
 * bytes long). */
int ptcp_netdev_parse_link(const void *msg, size_t len, struct ptcp_netdev_info *info);

/* The devices of an RTM_GETLINK dump as they arrive. */
struct ptcp_netdev_links {
	struct ptcp_netdev_info *all; /* n of them, room for cap (malloc'd) */
	unsigned n, cap;
	bool dump_intr;               /* some message had NLM_F_DUMP_INTR */
};

/* Adds the devices of one datagram buf[0..len) of the answer to the
 * RTM_GETLINK dump with sequence number seq to *l (ptcp_nl_walk():
 * messages of another sequence number are skipped; *done says NLMSG_DONE
 * came). Returns 0, -ENOMEM, or the error of ptcp_netdev_parse_link() or
 * ptcp_nl_walk(). ptcp_netdev_links_free() frees l->all. */
int ptcp_netdev_links_feed(struct ptcp_netdev_links *l, const void *buf, size_t len, uint32_t seq,
			   bool *done);
void ptcp_netdev_links_free(struct ptcp_netdev_links *l);

/* Which of the devices all[0..n) (one namespace's, in any order) an
 * ETH_P_ALL packet socket sees each received packet on once: every one
 * except
 *   (1) a port: it has a master (IFLA_MASTER), where the packet is seen
 *       again;
 *   (2) a lower device: some other device's IFLA_LINK names it and that
 *       device has no IFLA_LINK_NETNSID (a VLAN, macvlan, ipvlan on it).
 *       A link to itself or to 0 does not count, nor one to a device whose
 *       own IFLA_LINK names the first one back: that is a pair of peers
 *       (both ends of a veth in this namespace), not a stack, which has no
 *       cycle. A veth whose peer is in another namespace has
 *       IFLA_LINK_NETNSID.
 * Writes the first cap of them in ifindex order to out[] and returns how
 * many qualify (more than cap: only cap written). */
unsigned ptcp_netdev_select(const struct ptcp_netdev_info *all, unsigned n,
			    struct ptcp_netdev *out, unsigned cap);

/* Parses one message msg[0..len) of an RTM_GETQDISC dump (an
 * RTM_NEWQDISC): *ifindex gets its device and kind its TCA_KIND. Returns
 * 1 when the kind is "ingress" or "clsact" (a tc ingress hook), 0 for
 * another kind, the negative errno of an NLMSG_ERROR, or -EPROTO (another
 * type, an attribute running past the message, no TCA_KIND, or one empty,
 * unterminated or longer than PTCP_NETDEV_KIND_LEN - 1). */
int ptcp_netdev_parse_qdisc(const void *msg, size_t len, int *ifindex,
			    char kind[PTCP_NETDEV_KIND_LEN]);

/* --- asking the kernel ------------------------------------------------------ */

/* Lists, via one rtnetlink RTM_GETLINK dump of this network namespace
 * (made again, at most twice, when the devices change while the kernel
 * dumps them), the devices ptcp_netdev_select() keeps. Writes up to cap
 * of them to out[] in ifindex order and their number (at most cap) to
 * *n, and the number of devices in the dump to *total (when not NULL: the
 * selection left out the others). Returns 0 (why: "N of M devices"); -E2BIG when more than cap
 * qualify (why says how many); -ENOMEM; -errno when netlink fails (why
 * says which step: the socket, the dump, -EPROTO a malformed answer,
 * -EAGAIN the devices kept changing). why: one line, no newline. */
int ptcp_netdev_ring_devices(struct ptcp_netdev *out, unsigned cap, unsigned *n, unsigned *total,
			     char *why, size_t whylen);

/* Whether some device of this network namespace has a tc ingress hook
 * that a packet socket sees packets before: an RTM_GETQDISC dump, looking
 * for a qdisc of kind "ingress" or "clsact" (TCA_KIND). Returns 1 (what:
 * e.g. "qdisc clsact on eth0", the first found), 0 none (what: "no
 * ingress or clsact qdisc"), -errno (what: the step that failed). Not
 * seen: BPF programs attached through tcx (Linux 6.6 on), which need no
 * qdisc. */
int ptcp_netdev_ingress_qdisc(char *what, size_t cap);

#endif
