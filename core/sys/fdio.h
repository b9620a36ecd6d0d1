/* Blocking writes of a whole buffer, for the small files and pipes the
 * CLI and the identity store write (not for the session's non-blocking
 * descriptors, which handle short writes themselves). */
#ifndef PTCP_FDIO_H
#define PTCP_FDIO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* Writes all n bytes of p to fd, retrying on EINTR and short writes.
 * Returns 0 or -errno. */
static inline int ptcp_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

#endif
