/* ethoff: turn off transmit checksum offload (and with it TCP segmentation
 * offload) on network interfaces, like `ethtool -K IFACE tx off`, for the
 * namespace lab.
 *
 *   ethoff IFACE...     (in the interfaces' namespace: ip netns exec NS ethoff eth0)
 *
 * Why: a veth pair hands the kernel's TCP segments to the other namespace
 * as they were built, with the checksum left for "the hardware" to fill in
 * and up to 64 KiB in one segment (TSO). A raw socket in the receiving
 * namespace then sees wrong checksums and segments larger than the MSS,
 * which no real wire carries. With tx checksumming off the kernel
 * finishes every checksum and cuts MSS-sized segments in software before
 * the veth, as a real link would show them.
 *
 * Uses the legacy SIOCETHTOOL commands, which every kernel keeps; plain libc
 * and the kernel's UAPI headers only. Exit 0 when every interface was
 * changed, 1 otherwise. */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_value(int fd, const char *ifname, unsigned cmd, unsigned value)
{
	struct ethtool_value ev;
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memset(&ev, 0, sizeof(ev));
	ev.cmd = cmd;
	ev.data = value;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	return ioctl(fd, SIOCETHTOOL, &ifr);
}

int main(int argc, char **argv)
{
	int fd, i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: ethoff IFACE...\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("ethoff: socket");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if (strlen(argv[i]) >= IFNAMSIZ) {
			fprintf(stderr, "ethoff: invalid interface name: '%s'\n", argv[i]);
			rc = 1;
			continue;
		}
		/* TSO depends on tx checksumming; switch it off first so the
		 * kernel does not refuse the second change. */
		set_value(fd, argv[i], ETHTOOL_STSO, 0);
		if (set_value(fd, argv[i], ETHTOOL_STXCSUM, 0) < 0) {
			fprintf(stderr, "ethoff: %s: tx checksum off: %s\n", argv[i], strerror(errno));
			rc = 1;
		}
	}
	close(fd);
	return rc;
}
