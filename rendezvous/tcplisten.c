#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "rdvclient.h"
#include "rdvlog.h"
#include "tcplisten.h"

/* Fast Open requests that may wait for accept() at once (a SYN beyond
 * them takes the ordinary handshake). */
#define TFO_QUEUE 1024

/* Sets TCP_FASTOPEN on the listening fd and says in note (" (TCP Fast
 * Open on)", or why off) whether the namespace's sysctl lets it work. */
static void fastopen(int fd, char *note, size_t cap)
{
	int qlen = TFO_QUEUE, mode = -1;
	FILE *f;

	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) != 0) {
		snprintf(note, cap, " (TCP Fast Open off: %s)", strerror(errno));
		return;
	}
	f = fopen("/proc/sys/net/ipv4/tcp_fastopen", "re");
	if (f) {
		if (fscanf(f, "%i", &mode) != 1)
			mode = -1;
		fclose(f);
	}
	if (mode < 0)
		snprintf(note, cap, " (TCP Fast Open: set; net.ipv4.tcp_fastopen unreadable)");
	else if (mode & 2)
		snprintf(note, cap, " (TCP Fast Open on)");
	else
		snprintf(note, cap, " (TCP Fast Open off: net.ipv4.tcp_fastopen = %d lacks the server "
			 "bit 0x2)", mode);
}

struct evconnlistener *ptcp_rdvd_listen(struct event_base *base, const struct ptcp_endpoint *ep,
                                        const char *role, evconnlistener_cb cb,
                                        evconnlistener_errorcb ecb, void *arg, int *err)
{
	struct sockaddr_storage ss;
	struct evconnlistener *l;
	int len = ptcp_rdv_to_sockaddr(ep, &ss), one = 1, fd;
	char name[64], suffix[32] = "", tfo[96] = "";

	ptcp_endpoint_format(ep, name, sizeof(name));
	if (role)
		snprintf(suffix, sizeof(suffix), " (%s)", role);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* An explicit IPv6 address means IPv6 only; IPv4 has its own address. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0 || listen(fd, 1024) != 0)
		goto fail;
	/* TCP Fast Open on the rendezvous ports (RFC 7413): a client with
	 * our cookie sends its first flight in its SYN, and we answer it
	 * with the SYN-ACK, a round trip sooner. It takes the server bit of
	 * net.ipv4.tcp_fastopen in our namespace; without it the option is
	 * set and unused. */
	if (!role)
		fastopen(fd, tfo, sizeof(tfo));
	/* backlog 0: the socket is listening already */
	l = evconnlistener_new(base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!l) {
		close(fd);
		rlog_error("cannot listen on %s%s: out of memory", name, suffix);
		*err = -ENOMEM;
		return NULL;
	}
	evconnlistener_set_error_cb(l, ecb);
	rlog_info("%s%slistening on %s%s", role ? role : "", role ? " " : "", name, tfo);
	return l;
fail:
	*err = -errno;
	rlog_error("cannot listen on %s%s: %s", name, suffix, strerror(errno));
	if (fd >= 0)
		close(fd);
	return NULL;
}
