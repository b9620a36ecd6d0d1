/* Choosing our local address when the user did not give one. */
#ifndef PTCP_ROUTE_H
#define PTCP_ROUTE_H

#include <stddef.h>

#include "addr.h"

/* Sets local's address (and family) to the source address of the route
 * to peer, IPv4 or IPv6, as the kernel would choose it for a connection
 * (a UDP socket is connected to peer and asked for its name: no packet
 * is sent). local's port is left as it is.
 *
 * Returns 0, or -ENETUNREACH (no route), -EAFNOSUPPORT (neither IPv4 nor
 * IPv6, or a host without IPv6), or another -errno. */
int ptcp_route_source(const struct ptcp_endpoint *peer, struct ptcp_endpoint *local);

/* Sets local's address to the first IPv4 address of an interface that is
 * up and not loopback, in the kernel's interface order; falls back to a
 * loopback address when there is nothing else. ifname (optional, cap
 * bytes) gets the interface's name.
 *
 * Returns 0, -EADDRNOTAVAIL (no IPv4 address at all), or -errno from
 * getifaddrs(3). */
int ptcp_route_first_address(struct ptcp_endpoint *local, char *ifname, size_t cap);

#endif
