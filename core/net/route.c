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
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fd, rv = 0;

	if (peer->family != PTCP_AF_INET)
		return -EAFNOSUPPORT;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, peer->addr, 4);
	/* Any non-zero port: connect(2) on UDP only looks the route up. */
	sin.sin_port = htons(peer->port ? peer->port : 9);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) != 0)
		rv = -errno;
	close(fd);
	if (rv != 0)
		return rv;
	local->family = PTCP_AF_INET;
	memset(local->addr, 0, sizeof(local->addr));
	memcpy(local->addr, &sin.sin_addr, 4);
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
