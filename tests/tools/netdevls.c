/* netdevls: what core/net/netdev.c finds in the namespace it runs in, for
 * tests/netns/test_netdev.sh.
 *
 *   netdevls devices [CAP]   the devices a packet ring may take packets on
 *                            (ptcp_netdev_ring_devices(), room for CAP, 64
 *                            by default): their names on one line, in
 *                            ifindex order, space-separated
 *   netdevls ingress         ptcp_netdev_ingress_qdisc(): "hook: WHAT" or
 *                            "none: WHAT"
 *
 * Exit 0, or 1 with one line on stderr naming what failed (-E2BIG
 * included), 2 for a bad command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netdev.h"

#define CAP_MAX 1024

static int devices(const char *arg)
{
	static struct ptcp_netdev out[CAP_MAX];
	char why[128], *end;
	unsigned long cap = 64;
	unsigned n, i;
	int rv;

	if (arg) {
		errno = 0;
		cap = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || cap > CAP_MAX) {
			fprintf(stderr, "netdevls: invalid room: '%s' (0 to %d)\n", arg, CAP_MAX);
			return 2;
		}
	}
	rv = ptcp_netdev_ring_devices(out, (unsigned)cap, &n, NULL, why, sizeof(why));
	if (rv != 0) {
		fprintf(stderr, "netdevls: %s (%s)\n", why, strerror(-rv));
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", out[i].name);
	printf("\n");
	fprintf(stderr, "netdevls: %s\n", why);
	return 0;
}

static int ingress(void)
{
	char what[128];
	int rv = ptcp_netdev_ingress_qdisc(what, sizeof(what));

	if (rv < 0) {
		fprintf(stderr, "netdevls: %s\n", what);
		return 1;
	}
	printf("%s: %s\n", rv ? "hook" : "none", what);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "devices") == 0)
		return devices(argc == 3 ? argv[2] : NULL);
	if (argc == 2 && strcmp(argv[1], "ingress") == 0)
		return ingress();
	fprintf(stderr, "usage: netdevls devices [CAP] | netdevls ingress\n");
	return 2;
}
