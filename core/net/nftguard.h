/* The firewall rule that keeps the kernel from resetting our connection.
 *
 * The kernel sees segments for a port that no socket of its own has
 * connected, and answers each with a RST that would kill the connection
 * the engine runs on that port (see docs/driver.md). We install
 *
 *   table inet p2ptcp_<pid>_<port> {
 *       flags owner
 *       chain output {
 *           type filter hook output priority filter; policy accept;
 *           ip saddr ADDR tcp sport PORT tcp flags & rst == rst
 *               meta mark != MARK drop
 *           ip6 saddr ADDR6 tcp sport PORT tcp flags & rst == rst
 *               meta mark != MARK drop
 *       }
 *       chain prerouting {
 *           type filter hook prerouting priority filter; policy accept;
 *           ip daddr ADDR tcp dport PORT socket transparent { 0, 1 } accept
 *           tcp dport PORT ip daddr ADDR meta pkttype set other
 *           (the same for ip6 daddr ADDR6)
 *       }
 *   }
 *
 * with rules for each family the node uses (an inet table sees both); for
 * a family whose address is not known, "meta nfproto ipv4" (or ipv6, and
 * "fib daddr type local" for the packet type) takes the place of the
 * address match, through libnftables. The prerouting chain keeps the
 * kernel's TCP from even looking at our segments: it discards a segment
 * whose packet type is not PACKET_HOST before its socket lookup, without
 * a RST, while the raw socket (which ignores the type) still receives it.
 * Segments for a kernel socket on the port (the rendezvous connection)
 * are left alone. Without that chain, building and dropping a RST for
 * every segment received was about 15% of a receiving node's CPU time.
 * A kernel that refuses the chain gets the output chain alone. Our own RSTs carry MARK (SO_MARK on the raw socket)
 * and pass. "flags owner" ties the table to the netlink socket that made
 * it: the kernel deletes the table when that socket closes, so also when
 * the process is killed with SIGKILL. Nothing is left to clean up. */
#ifndef PTCP_NFTGUARD_H
#define PTCP_NFTGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct nft_ctx;

struct ptcp_nftguard {
	struct nft_ctx *nft;   /* keeps the owning netlink socket open */
	char table[48];        /* "p2ptcp_<pid>_<port>" */
	bool quiet;            /* the prerouting chain is in: the kernel's
	                          TCP does not see our segments */
	struct nft_ctx *ring_nft;  /* the ingress table's, when it is in */
	char ring_table[56];   /* its name: table's with "_ring" */
};

/* Creates the table for locals[0..n) (one per family, IPv4 or IPv6, all
 * of one port: a rule for each, with its address unless that is all zero)
 * letting through only RSTs marked with mark, then lists it to check that
 * it exists.
 *
 * Returns 0, or -EPERM (no CAP_NET_ADMIN), -ENOTSUP (nftables not usable:
 * no nf_tables in the kernel, "flags owner" unsupported, ...), -ENOMEM,
 * -EINVAL (n is 0 or more than 2, the ports differ), -EAFNOSUPPORT (an
 * endpoint neither IPv4 nor IPv6). On error, err[0..errlen) gets
 * nftables' own first line of explanation, or ours. */
int ptcp_nftguard_install(struct ptcp_nftguard *g, const struct ptcp_endpoint *locals, unsigned n,
                          uint32_t mark, char *err, size_t errlen);

/* True when the table is present (nft list table succeeds). */
bool ptcp_nftguard_present(struct ptcp_nftguard *g);

/* Finds in the text of `nft list ruleset` (ruleset) a base chain (one
 * with a hook) of family ip or inet in a table other than ours (ours:
 * its name): one that sees this host's IPv4 packets, which frames of a
 * packet socket bypass (pktsock.h). ip6, arp, bridge and netdev tables
 * do not matter to IPv4 frames (netdev egress sees them anyway). Writes
 * "table FAMILY NAME, chain CHAIN (hook HOOK)" of the first into
 * what[0..cap). Returns 1 when there is one, else 0. Pure. */
int ptcp_nftguard_find_other(const char *ruleset, const char *ours, char *what, size_t cap);

/* The same for a base chain of family netdev on the ingress hook in a
 * table other than ours: one that a packet socket bound to ETH_P_ALL
 * sees packets before (rxring.h). Pure. */
int ptcp_nftguard_find_other_ingress(const char *ruleset, const char *ours, char *what, size_t cap);

/* ptcp_nftguard_find_other() on this network namespace's chains (`nft list
 * chains`: the ruleset without rules or sets; needs
 * the context of an installed guard, so CAP_NET_ADMIN at the time).
 * Returns 0 or 1 as it, or -ENOTSUP when the ruleset cannot be listed
 * (what says why). */
int ptcp_nftguard_others(struct ptcp_nftguard *g, char *what, size_t cap);

/* The ingress table: behind a receive ring bound to ETH_P_ALL (rxring.h),
 * which takes a segment off the device before anything else, the
 * segment need not go through this host's IP input at all (on a veth
 * that input runs in the sending process, ours or a kernel's: 15% of a
 * kernel sender's CPU into p2ptcp, make bench's link-ke). A table of its
 * own, on the devices the ring sees:
 *
 *   table inet p2ptcp_<pid>_<port>_ring {
 *       flags owner
 *       set kernel { type ipv4_addr . inet_service; size 4096; flags dynamic }
 *       chain output {
 *           type filter hook output priority filter; policy accept;
 *           ip saddr ADDR tcp sport PORT tcp flags & rst == 0
 *               meta mark != MARK add @kernel { ip daddr . tcp dport }
 *       }
 *       chain ingress {
 *           type filter hook ingress devices = { "eth0", ... } priority filter;
 *           ip daddr ADDR tcp dport PORT ip length > 80
 *               ip frag-off & 0x3fff == 0 ip saddr . tcp sport != @kernel
 *               counter drop
 *       }
 *   }
 *
 * It drops whole segments with a payload (the ring's) to our port,
 * except those of a kernel socket on the port (the rendezvous
 * connection), which it learns from the first segment the kernel sends
 * on it: nothing to add or delete per connection, which could not be
 * done once the capabilities are gone. Its own nftables context (netlink
 * socket): closing that deletes it ("flags owner"), with no capability
 * needed. */
#define PTCP_NFTGUARD_INGRESS_DEVS 64   /* devices at most */
#define PTCP_NFTGUARD_KERNEL_FLOWS 4096 /* the kernel's connections remembered
                                           (a full set: the next goes
                                           through IP input, undropped) */

/* The table's text into cmd[0..cap). Returns 0, -EAFNOSUPPORT (local is
 * not IPv4), -EINVAL (no device, too many, or a name with a quote or a
 * backslash, or 16 bytes or more), -ENOBUFS (cap too small). Pure. */
int ptcp_nftguard_ingress_text(char *cmd, size_t cap, const char *table, const struct ptcp_endpoint *local,
			       uint32_t mark, const char *const *devs, unsigned ndev);

/* Adds the ingress table for local (IPv4) next to an installed guard's
 * (while CAP_NET_ADMIN is held). Returns 0, the errors of
 * ptcp_nftguard_ingress_text(), or -ENOMEM, -EPERM, -ENOTSUP (nftables
 * refused it: an old kernel without the inet family's ingress hook,
 * 5.10), with a line in err. */
int ptcp_nftguard_ingress(struct ptcp_nftguard *g, const struct ptcp_endpoint *local, uint32_t mark,
			  const char *const *devs, unsigned ndev, char *err, size_t errlen);

/* Deletes the ingress table (the other stays); needs no capability. */
void ptcp_nftguard_ingress_remove(struct ptcp_nftguard *g);

/* ptcp_nftguard_find_other_ingress() as ptcp_nftguard_others() does. */
int ptcp_nftguard_others_ingress(struct ptcp_nftguard *g, char *what, size_t cap);

/* Closes the netlink socket, which makes the kernel delete the table.
 * Safe on a zeroed or already removed guard. */
void ptcp_nftguard_remove(struct ptcp_nftguard *g);

#endif
