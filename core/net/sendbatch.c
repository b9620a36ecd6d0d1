#include "sendbatch.h"

#include <errno.h>
#include <string.h>

int ptcp_send_batch(int fd, const struct iovec *bufs, unsigned n, const void *addr,
                    socklen_t addrlen)
{
	struct mmsghdr msgs[PTCP_SENDBATCH_CHUNK];
	unsigned i, done = 0;
	int rv;

	while (done < n) {
		unsigned k = n - done < PTCP_SENDBATCH_CHUNK ? n - done : PTCP_SENDBATCH_CHUNK;

		memset(msgs, 0, sizeof(msgs[0]) * k);
		for (i = 0; i < k; i++) {
			msgs[i].msg_hdr.msg_name = (void *)addr;
			msgs[i].msg_hdr.msg_namelen = addrlen;
			msgs[i].msg_hdr.msg_iov = (struct iovec *)&bufs[done + i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		rv = sendmmsg(fd, msgs, k, 0);
		if (rv < 0 && errno == EINTR)
			continue;
		if (rv < 0)
			return done ? (int)done : -errno;
		if (rv == 0)
			break;
		done += (unsigned)rv;
		/* A short count means the next one failed: report what went. */
		if ((unsigned)rv < k)
			break;
	}
	return (int)done;
}
