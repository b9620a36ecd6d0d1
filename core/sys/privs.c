/* Giving up privileges: see privs.h. capget/capset directly (no
 * libcap): the v3 interface of linux/capability.h, two 32-bit words per
 * set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "privs.h"

#define BIT(cap) (UINT64_C(1) << (cap))

_Static_assert(PTCP_PRIVS_NET_BIND_SERVICE == BIT(CAP_NET_BIND_SERVICE), "CAP_NET_BIND_SERVICE");
_Static_assert(PTCP_PRIVS_NET_ADMIN == BIT(CAP_NET_ADMIN), "CAP_NET_ADMIN");

static int get_caps(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	memset(d, 0, 2 * sizeof(*d));
	return syscall(SYS_capget, &h, d) == 0 ? 0 : -errno;
}

static uint64_t join(uint32_t lo, uint32_t hi)
{
	return (uint64_t)hi << 32 | lo;
}

uint64_t ptcp_privs_effective(void)
{
	struct __user_cap_data_struct d[2];

	if (get_caps(d) != 0)
		return 0;
	return join(d[0].effective, d[1].effective);
}

/* The highest capability this kernel knows. */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v >= 0 && v < 64 ? v : CAP_LAST_CAP;
}

int ptcp_privs_drop(uint64_t keep, bool lock_down, char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t prm;
	int rv, c, last;

	if ((rv = get_caps(d)) != 0) {
		snprintf(err, errlen, "cannot read our capabilities: %s", strerror(-rv));
		return rv;
	}
	prm = join(d[0].permitted, d[1].permitted) & keep;

	/* The bounding set first: dropping from it needs CAP_SETPCAP, which
	 * the capset below takes away. */
	if (lock_down && (join(d[0].effective, d[1].effective) & BIT(CAP_SETPCAP))) {
		last = last_cap();
		for (c = 0; c <= last; c++) {
			if (keep & BIT(c))
				continue;
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
				rv = -errno;
				snprintf(err, errlen, "cannot drop capability %d from the bounding set: %s",
					 c, strerror(errno));
				return rv;
			}
		}
	}
	/* Ambient capabilities would survive an exec; none are wanted. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		rv = -errno;
		snprintf(err, errlen, "cannot clear the ambient capabilities: %s", strerror(errno));
		return rv;
	}
	d[0].effective = d[0].permitted = (uint32_t)prm;
	d[1].effective = d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) != 0) {
		rv = -errno;
		snprintf(err, errlen, "cannot drop our capabilities: %s", strerror(errno));
		return rv;
	}
	if (lock_down && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		rv = -errno;
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return rv;
	}
	if ((rv = get_caps(d)) != 0 || join(d[0].permitted, d[1].permitted) != prm) {
		snprintf(err, errlen, "our capabilities did not drop as asked");
		return rv ? rv : -EPERM;
	}
	return 0;
}

bool ptcp_privs_port_is_privileged(uint16_t port)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	int start = 1024;

	if (f) {
		if (fscanf(f, "%d", &start) != 1)
			start = 1024;
		fclose(f);
	}
	return port != 0 && port < start;
}
