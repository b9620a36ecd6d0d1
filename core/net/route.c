#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "route.h"

int ptcp_route_source(const struct ptcp_endpoint *peer, struct ptcp_endpoint *local)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t slen;
	int fd, rv = 0, domain;

	if (peer->family != PTCP_AF_INET && peer->family != PTCP_AF_INET6)
		return -EAFNOSUPPORT;
	domain = peer->family == PTCP_AF_INET ? AF_INET : AF_INET6;
	fd = socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&u, 0, sizeof(u));
	/* Any non-zero port: connect(2) on UDP only looks the route up (and
	 * for IPv6 picks the source by RFC 6724's rules, as TCP would). */
	if (domain == AF_INET) {
		u.in.sin_family = AF_INET;
		memcpy(&u.in.sin_addr, peer->addr, 4);
		u.in.sin_port = htons(peer->port ? peer->port : 9);
		slen = sizeof(u.in);
	} else {
		u.in6.sin6_family = AF_INET6;
		memcpy(&u.in6.sin6_addr, peer->addr, 16);
		u.in6.sin6_port = htons(peer->port ? peer->port : 9);
		slen = sizeof(u.in6);
	}
	if (connect(fd, &u.sa, slen) != 0 || getsockname(fd, &u.sa, &slen) != 0)
		rv = -errno;
	close(fd);
	if (rv != 0)
		return rv;
	local->family = peer->family;
	memset(local->addr, 0, sizeof(local->addr));
	if (domain == AF_INET)
		memcpy(local->addr, &u.in.sin_addr, 4);
	else
		memcpy(local->addr, &u.in6.sin6_addr, 16);
	return 0;
}

int ptcp_route_first_address(struct ptcp_endpoint *local, char *ifname, size_t cap)
{
	struct ifaddrs *list, *ifa;
	const struct ifaddrs *found = NULL, *loopback = NULL;

	if (getifaddrs(&list) != 0)
		return -errno;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET ||
		    !(ifa->ifa_flags & IFF_UP))
			continue;
		if (ifa->ifa_flags & IFF_LOOPBACK) {
			if (!loopback)
				loopback = ifa;
			continue;
		}
		found = ifa;
		break;
	}
	if (!found)
		found = loopback;
	if (found) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)found->ifa_addr;

		local->family = PTCP_AF_INET;
		memset(local->addr, 0, sizeof(local->addr));
		memcpy(local->addr, &sin->sin_addr, 4);
		if (ifname && cap)
			snprintf(ifname, cap, "%s", found->ifa_name);
	}
	freeifaddrs(list);
	return found ? 0 : -EADDRNOTAVAIL;
}
