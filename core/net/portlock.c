/* One p2ptcp per port: see portlock.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "portlock.h"

const char *ptcp_portlock_name(uint16_t port, char *buf, unsigned cap)
{
	snprintf(buf, cap, "p2ptcp/port/%u", port);
	return buf;
}

/* The abstract address of port's lock: sun_path starts with a NUL, and
 * the name is exactly the bytes that follow (no terminator). */
static socklen_t lock_addr(struct sockaddr_un *sun, uint16_t port)
{
	char name[32];
	size_t n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = strlen(ptcp_portlock_name(port, name, sizeof(name)));
	memcpy(sun->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* Asks the holder of the name who it is. The connection stays in the
 * holder's backlog until we close it; with a full backlog the kernel
 * refuses at once (non-blocking) and the holder stays unknown. */
static void ask_holder(const struct sockaddr_un *sun, socklen_t len,
		       struct ptcp_portlock_holder *holder)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (connect(fd, (const struct sockaddr *)sun, len) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 && cred.pid > 0) {
		holder->known = true;
		holder->pid = cred.pid;
		holder->uid = cred.uid;
	}
	close(fd);
}

int ptcp_portlock_take(int *fd, uint16_t port, struct ptcp_portlock_holder *holder)
{
	struct sockaddr_un sun;
	socklen_t len;
	int rv;

	*fd = -1;
	memset(holder, 0, sizeof(*holder));
	if (port == 0)
		return -EINVAL;
	len = lock_addr(&sun, port);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		rv = -errno;
		*fd = -1;
		return rv;
	}
	if (bind(*fd, (struct sockaddr *)&sun, len) != 0) {
		rv = errno == EADDRINUSE ? -EBUSY : -errno;
		ptcp_portlock_release(fd);
		if (rv == -EBUSY)
			ask_holder(&sun, len, holder);
		return rv;
	}
	/* Listening only lets the next p2ptcp learn our pid and uid. */
	if (listen(*fd, 4) != 0) {
		rv = -errno;
		ptcp_portlock_release(fd);
		return rv;
	}
	return 0;
}

void ptcp_portlock_release(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
