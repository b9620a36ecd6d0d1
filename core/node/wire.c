/* The local endpoint's kernel objects: see wire.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pktsock.h"
#include "wire.h"

static const char setcap_hint[] =
	"run as root or `setcap cap_net_raw,cap_net_admin+ep $(command -v p2ptcp)`";

static void fail(struct ptcp_session_result *res, enum ptcp_session_status st, int err,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(struct ptcp_session_result *res, enum ptcp_session_status st, int err,
		 const char *fmt, ...)
{
	va_list ap;

	res->status = st;
	res->sys_errno = err;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
}

void ptcp_wire_init(struct ptcp_wire *w)
{
	memset(w, 0, sizeof(*w));
	w->rs.fd = w->rs.reserve_fd = w->rs.lock_fd = -1;
	w->pkt_fd = -1;
}

static int open_port(struct ptcp_wire *w, const struct ptcp_wire_config *cfg,
		     struct ptcp_session_result *res)
{
	const struct ptcp_portlock_holder *h = &w->rs.holder;
	uint16_t port = cfg->local.port;
	char a[48];
	int rv;

	rv = ptcp_rawsock_open(&w->rs, &cfg->local, cfg->mark);
	if (rv == 0)
		return 0;
	if (rv == -EPERM || rv == -EACCES)
		fail(res, PTCP_SESSION_PERM, -rv,
		     "raw sockets need CAP_NET_RAW (and CAP_NET_ADMIN for the firewall rule): %s",
		     setcap_hint);
	else if (rv == -EBUSY && h->known)
		fail(res, PTCP_SESSION_SYSTEM, EADDRINUSE,
		     "local port %u is already served by another p2ptcp (pid %ld, uid %lu)", port,
		     (long)h->pid, (unsigned long)h->uid);
	else if (rv == -EBUSY)
		fail(res, PTCP_SESSION_SYSTEM, EADDRINUSE,
		     "local port %u is already served by another p2ptcp", port);
	else if (rv == -EADDRINUSE)
		fail(res, PTCP_SESSION_SYSTEM, EADDRINUSE, "local port %u is in use by another program",
		     port);
	else
		fail(res, PTCP_SESSION_SYSTEM, -rv, "cannot use local endpoint %s: %s",
		     ptcp_endpoint_format(&cfg->local, a, sizeof(a)), strerror(-rv));
	return -1;
}

int ptcp_wire_open(struct ptcp_wire *w, const struct ptcp_wire_config *cfg,
                   struct ptcp_session_result *res)
{
	char err[256];
	int rv;

	ptcp_wire_init(w);
	if (open_port(w, cfg, res) != 0)
		return -1;

	rv = ptcp_nftguard_install(&w->guard, &w->rs.local, cfg->mark, err, sizeof(err));
	if (rv == -EPERM) {
		fail(res, PTCP_SESSION_PERM, EPERM, "the firewall rule needs CAP_NET_ADMIN: %s",
		     setcap_hint);
		goto fail;
	}
	if (rv != 0) {
		fail(res, PTCP_SESSION_FIREWALL, -rv,
		     "cannot install firewall rule (nftables): %s; the kernel would reset the connection",
		     err);
		goto fail;
	}
	ptcp_info("firewall: table inet %s drops the kernel's RSTs from port %u",
		  w->guard.table, w->rs.local.port);

	if (cfg->pcap_path) {
		rv = ptcp_pcapw_open(&w->pcap, cfg->pcap_path, err, sizeof(err));
		if (rv != 0) {
			fail(res, PTCP_SESSION_SYSTEM, -rv, "cannot write capture '%s': %s",
			     cfg->pcap_path, err);
			goto fail;
		}
	}
	if (cfg->gso && (rv = ptcp_pktsock_socket(&w->pkt_fd, cfg->mark)) != 0)
		ptcp_info("offload: cannot make a packet socket (%s); raw socket only", strerror(-rv));
	return 0;
fail:
	ptcp_wire_close(w);
	return -1;
}

int ptcp_wire_set_addr(struct ptcp_wire *w, const struct ptcp_endpoint *addr,
                       struct ptcp_session_result *res)
{
	char a[48];
	int rv = ptcp_rawsock_set_addr(&w->rs, addr);

	if (rv == 0)
		return 0;
	fail(res, PTCP_SESSION_SYSTEM, -rv, "cannot use local address %s for the raw socket: %s",
	     ptcp_endpoint_format(addr, a, sizeof(a)), strerror(-rv));
	return -1;
}

bool ptcp_wire_ready(const struct ptcp_wire *w)
{
	const uint8_t *a = w->rs.local.addr;

	return w->rs.fd >= 0 && (a[0] | a[1] | a[2] | a[3]) != 0;
}

void ptcp_wire_close(struct ptcp_wire *w)
{
	if (w->pcap)
		ptcp_pcapw_close(w->pcap);
	w->pcap = NULL;
	ptcp_nftguard_remove(&w->guard);
	ptcp_rawsock_close(&w->rs);
	if (w->pkt_fd >= 0)
		close(w->pkt_fd);
	w->pkt_fd = -1;
}
