/* Giving up privileges once the kernel objects that need them exist.
 *
 * p2ptcp needs CAP_NET_RAW (the raw socket, the packet socket of --gso)
 * and CAP_NET_ADMIN (the firewall table, SO_MARK, the forced socket
 * buffer sizes) only to open things (wire.h). Everything after that, the
 * rendezvous messages, the peer's segments, the secure channel, is input
 * from the network, and is parsed without them: the caller drops every
 * capability it does not name, from the effective, permitted,
 * inheritable and ambient sets, so they cannot come back; and unless it
 * is to run other programs (listen --exec), also from the bounding set,
 * and sets PR_SET_NO_NEW_PRIVS, so that no program it might be made to
 * run gains any (setuid, file capabilities).
 *
 * What a caller may still need, named in keep (CAP_* bits, 1 << CAP_X):
 *   - with --gso, CAP_NET_ADMIN: conntrack and xfrm are asked about the
 *     connection once it is established, and the next hop's neighbour
 *     entry is refreshed, through netlink messages the kernel allows only
 *     with it;
 *   - in rendezvous mode with a port below
 *     net.ipv4.ip_unprivileged_port_start, CAP_NET_BIND_SERVICE: every
 *     round binds a new rendezvous socket to the port.
 *
 * A process that runs as root stays uid 0: it keeps what uid 0 owns
 * (files, signals to root's processes). Run p2ptcp as a user, with
 * `setcap cap_net_raw,cap_net_admin+ep`, for the whole separation.
 *
 * Functions return 0 or a negative errno value. */
#ifndef PTCP_PRIVS_H
#define PTCP_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The capabilities a caller may keep, as bits of a keep mask (1 << CAP_X
 * of linux/capability.h). */
#define PTCP_PRIVS_NET_BIND_SERVICE (UINT64_C(1) << 10)
#define PTCP_PRIVS_NET_ADMIN (UINT64_C(1) << 12)

/* Keeps only the capabilities in keep (PTCP_PRIVS_* bits; those not held
 * are ignored).
 * With lock_down, also empties the bounding set of all but keep (needs
 * CAP_SETPCAP, which only root has; a setcap'd binary skips that step)
 * and sets PR_SET_NO_NEW_PRIVS.
 *
 * Returns 0, or the -errno of capget(2), capset(2) or prctl(2) with one
 * line in err; then the process may hold more than asked and the caller
 * should stop. */
int ptcp_privs_drop(uint64_t keep, bool lock_down, char *err, size_t errlen);

/* The effective capabilities now, as 1 << CAP_X bits (0 on error). */
uint64_t ptcp_privs_effective(void);

/* True when binding TCP port needs CAP_NET_BIND_SERVICE in this network
 * namespace (below net.ipv4.ip_unprivileged_port_start, 1024 unless
 * changed). */
bool ptcp_privs_port_is_privileged(uint16_t port);

#endif
