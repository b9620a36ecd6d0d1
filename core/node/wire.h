/* The local endpoint's kernel objects, opened before anything goes on the
 * network, while the process still has its capabilities:
 *
 *   - the port and the raw socket (rawsock.h: the reservation, the port's
 *     lock, the raw socket with its filter and SO_MARK);
 *   - the firewall table that drops the kernel's RSTs (nftguard.h);
 *   - the --pcap file (pcapw.h);
 *   - for --gso, the packet socket (pktsock.h), made now and bound to an
 *     interface once the connection is established.
 *
 * A session runs on a wire (session.h: cfg.wire); without one it opens its
 * own. Rendezvous mode opens the wire first, so that missing capabilities
 * or a port in use stop it before it talks to the server, then learns its
 * address from the rendezvous connection (ptcp_wire_set_addr()) and keeps
 * the wire, and so the port, for every peer it serves.
 *
 * Errors are reported as a session's are: res->status (PTCP_SESSION_PERM,
 * _FIREWALL or _SYSTEM), res->sys_errno and one line in res->msg. */
#ifndef PTCP_WIRE_H
#define PTCP_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "nftguard.h"
#include "pcapw.h"
#include "rawsock.h"
#include "session.h"

struct ptcp_wire {
	struct ptcp_rawsock rs;       /* rs.local: our address and port */
	struct ptcp_nftguard guard;
	struct ptcp_pcapw *pcap;      /* NULL: no capture */
	int pkt_fd;                   /* --gso: the packet socket, not bound
	                                 yet; -1: none (a session takes it) */
};

struct ptcp_wire_config {
	struct ptcp_endpoint local;   /* IPv4; address 0.0.0.0: not known yet
	                                 (the port is then reserved, and the
	                                 firewall rule made, for every
	                                 address); port 0: the kernel picks */
	uint32_t mark;                /* SO_MARK of our segments */
	const char *pcap_path;        /* NULL: no capture */
	bool gso;                     /* make the packet socket too */
};

/* Marks every object closed, so that ptcp_wire_close() is safe. */
void ptcp_wire_init(struct ptcp_wire *w);

/* Opens everything cfg asks for, in this order: the port (reservation and
 * lock), the raw socket, the firewall table, the capture file, the packet
 * socket (a failure there only costs the offload, said at -v).
 *
 * Returns 0, or -1 with res filled in: PTCP_SESSION_PERM (no CAP_NET_RAW
 * or CAP_NET_ADMIN), PTCP_SESSION_FIREWALL (nftables not usable),
 * PTCP_SESSION_SYSTEM (the port is in use, by another p2ptcp or another
 * program; the address is not ours; the capture cannot be written). On
 * failure everything opened is closed again. */
int ptcp_wire_open(struct ptcp_wire *w, const struct ptcp_wire_config *cfg,
                   struct ptcp_session_result *res);

/* Our address, once known (ptcp_rawsock_set_addr()). Returns 0, or -1
 * with res filled in (PTCP_SESSION_SYSTEM). */
int ptcp_wire_set_addr(struct ptcp_wire *w, const struct ptcp_endpoint *addr,
                       struct ptcp_session_result *res);

/* True once the wire has an address: a session can run on it. */
bool ptcp_wire_ready(const struct ptcp_wire *w);

/* Closes everything (the kernel deletes the firewall table). Safe on an
 * initialised or already closed wire. */
void ptcp_wire_close(struct ptcp_wire *w);

#endif
