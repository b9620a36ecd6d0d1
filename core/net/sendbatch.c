#include "sendbatch.h"

#include <errno.h>
#include <string.h>

int ptcp_send_each(int fd, unsigned n, ptcp_send_fill_fn *fill, void *user)
{
	struct mmsghdr msgs[PTCP_SENDBATCH_CHUNK];
	unsigned i, k, done = 0;
	int rv;

	while (done < n) {
		k = n - done < PTCP_SENDBATCH_CHUNK ? n - done : PTCP_SENDBATCH_CHUNK;
		memset(msgs, 0, sizeof(msgs[0]) * k);
		for (i = 0; i < k; i++)
			fill(user, done + i, &msgs[i]);
		do
			rv = sendmmsg(fd, msgs, k, 0);
		while (rv < 0 && errno == EINTR);
		if (rv < 0)
			return done ? (int)done : -errno;
		done += (unsigned)rv;
		/* A short count means the next one failed: report what went. */
		if ((unsigned)rv < k)
			break;
	}
	return (int)done;
}

struct to_one {
	const struct iovec *bufs;
	const void *addr;
	socklen_t addrlen;
};

static void fill_to_one(void *user, unsigned i, struct mmsghdr *msg)
{
	const struct to_one *t = user;

	msg->msg_hdr.msg_name = (void *)t->addr;
	msg->msg_hdr.msg_namelen = t->addrlen;
	msg->msg_hdr.msg_iov = (struct iovec *)&t->bufs[i];
	msg->msg_hdr.msg_iovlen = 1;
}

int ptcp_send_batch(int fd, const struct iovec *bufs, unsigned n, const void *addr,
                    socklen_t addrlen)
{
	struct to_one t = { bufs, addr, addrlen };

	return ptcp_send_each(fd, n, fill_to_one, &t);
}
