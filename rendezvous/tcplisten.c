#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "rdvclient.h"
#include "rdvlog.h"
#include "tcplisten.h"

struct evconnlistener *ptcp_rdvd_listen(struct event_base *base, const struct ptcp_endpoint *ep,
                                        const char *role, evconnlistener_cb cb,
                                        evconnlistener_errorcb ecb, void *arg, int *err)
{
	struct sockaddr_storage ss;
	struct evconnlistener *l;
	int len = ptcp_rdv_to_sockaddr(ep, &ss), one = 1, fd;
	char name[64], suffix[32] = "";

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
	/* backlog 0: the socket is listening already */
	l = evconnlistener_new(base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!l) {
		close(fd);
		rlog_error("cannot listen on %s%s: out of memory", name, suffix);
		*err = -ENOMEM;
		return NULL;
	}
	evconnlistener_set_error_cb(l, ecb);
	rlog_info("%s%slistening on %s", role ? role : "", role ? " " : "", name);
	return l;
fail:
	*err = -errno;
	rlog_error("cannot listen on %s%s: %s", name, suffix, strerror(errno));
	if (fd >= 0)
		close(fd);
	return NULL;
}
