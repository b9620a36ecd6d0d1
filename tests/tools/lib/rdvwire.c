/* Rendezvous messages on blocking sockets: see rdvwire.h. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "rdvclient.h"
#include "rdvwire.h"

uint64_t rdvwire_now_ms(void)
{
	return ptcp_clock_now() / PTCP_NS_PER_MS;
}

int rdvwire_dial(const struct ptcp_endpoint *server, const struct ptcp_endpoint *bind_ep)
{
	struct sockaddr_storage ss;
	int fd, len, one = 1, e;

	len = ptcp_rdv_to_sockaddr(server, &ss);
	if (len < 0)
		return len;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind_ep) {
		struct sockaddr_storage bs;
		int blen = ptcp_rdv_to_sockaddr(bind_ep, &bs);

		/* Port 0: the port is chosen at connect() for the whole
		 * 4-tuple, not by a search of the port space at bind()
		 * (slow, and too few ports for 100,000 connections). */
		if (bind_ep->port == 0)
			setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (blen < 0 || bind(fd, (struct sockaddr *)&bs, (socklen_t)blen) != 0) {
			e = blen < 0 ? blen : -errno;
			close(fd);
			return e;
		}
	}
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int rdvwire_listen(const struct ptcp_endpoint *ep)
{
	struct sockaddr_storage ss;
	int fd, len = ptcp_rdv_to_sockaddr(ep, &ss), one = 1, e;

	if (len < 0)
		return len;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0 || listen(fd, 64) != 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int rdvwire_send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int rdvwire_send(int fd, const struct ptcp_rdv_msg *m)
{
	uint8_t buf[PTCP_RDV_MSG_MAX];
	int n = ptcp_rdv_emit(m, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "emit %s: %s\n", ptcp_rdv_type_name(m->type), ptcp_rdv_strerror(n));
		exit(2);
	}
	return rdvwire_send_all(fd, buf, (size_t)n);
}

int rdvwire_recv(int fd, struct ptcp_rdv_msg *m, int timeout_ms)
{
	uint8_t buf[PTCP_RDV_MSG_MAX];
	size_t have = 0;
	uint64_t end = rdvwire_now_ms() + (uint64_t)timeout_ms;
	int n;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = (int64_t)(end - rdvwire_now_ms());
		ssize_t r;

		n = ptcp_rdv_frame(buf, have);
		if (n < 0)
			return -EPROTO;
		if (n > 0)
			return ptcp_rdv_parse(m, buf, (size_t)n) == 0 ? 1 : -EPROTO;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		/* one byte past the message would belong to the next: read
		 * only what the frame still needs (at most the header first) */
		r = recv(fd, buf + have, have < PTCP_RDV_HDR_LEN ? PTCP_RDV_HDR_LEN - have
				: (size_t)PTCP_RDV_HDR_LEN + (size_t)(buf[4] << 8 | buf[5]) - have, 0);
		if (r <= 0)
			return r < 0 && errno == EINTR ? -EINTR : 0;
		have += (size_t)r;
	}
}
