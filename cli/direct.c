#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "direct.h"
#include "error.h"
#include "log.h"
#include "options.h"
#include "privs.h"
#include "route.h"
#include "session.h"
#include "status.h"
#include "wire.h"

static const char connect_usage[] =
	"Usage: p2ptcp connect <peer-id> [--rendezvous HOST[:PORT]] ...\n"
	"                      (by peer id, through a rendezvous server and both NATs:\n"
	"                      `p2ptcp connect <peer-id> --help`)\n"
	"       p2ptcp connect --local-port PORT --peer ADDR:PORT [--local-addr ADDR]\n"
	"                      [--isn N --peer-isn M] [--active] [--punch-interval MS]\n"
	"                      [--timeout S] [--pcap FILE] [--gso] [-v]\n"
	"\n"
	"Without a peer id, connects directly (below): opens a TCP connection from our\n"
	"PORT to the peer and relays standard input to the peer and the peer's bytes to\n"
	"standard output. Without --active both sides run this at about the same time:\n"
	"their SYNs cross (simultaneous open, which also opens both NATs), and the SYN\n"
	"is repeated every --punch-interval until the peer answers. End of input sends\n"
	"FIN; the program exits 0 once both directions are closed cleanly.\n"
	"\n"
	"  --local-port PORT      our TCP port (1-65535)\n"
	"  --peer ADDR:PORT       the peer's address and port as we reach them\n"
	"  --local-addr ADDR      our address (default: the source of the route to ADDR)\n"
	"  --isn N                our initial sequence number (default: RFC 6528)\n"
	"  --peer-isn M           the ISN the peer will use; other SYNs are ignored\n"
	"  --active               plain three-way handshake to a listening peer\n"
	"  --punch-interval MS    SYN repetition for simultaneous open (default 500)\n"
	"  --timeout S            give up if not connected after S seconds (default 30)\n"
	"  --first-syn-ttl N      IP TTL of the first SYN only (opens our NAT without\n"
	"                         reaching the peer's)\n"
	"  --linger MS            time in TIME-WAIT before exiting (default: 2 RTO)\n"
	"  --sndbuf/--rcvbuf B    send/receive buffer in bytes (default 262144)\n"
	"  --pcap FILE            write every segment sent and received to FILE (pcap)\n"
	"  --gso                  once connected, send through a packet socket with\n"
	"                         segmentation offload (64 KiB per system call); what\n"
	"                         we send then bypasses this host's netfilter and IPsec\n"
	"                         (not used if this host NATs the connection, an IPsec\n"
	"                         policy may apply, or either cannot be asked)\n"
	"  -v, -vv                log states, drops and retransmissions; -vv every segment\n";

static const char listen_usage[] =
	"Usage: p2ptcp listen --rendezvous HOST[:PORT] [--allow <peer-id>]...\n"
	"                     [--exec CMD | --forward HOST:PORT] ...\n"
	"                     (peers connect by our peer id, through a rendezvous server:\n"
	"                     `p2ptcp listen --rendezvous X --help`)\n"
	"       p2ptcp listen --local-port PORT [--local-addr ADDR] [--pcap FILE] [--gso] [-v]\n"
	"\n"
	"Without a rendezvous server, listens directly (below): waits for one peer to\n"
	"connect to PORT, then relays standard input to it and its bytes to standard\n"
	"output, like connect.\n"
	"\n"
	"  --local-port PORT      the TCP port to listen on (1-65535)\n"
	"  --local-addr ADDR      our address (default: the first IPv4 address of an\n"
	"                         interface that is up, loopback last)\n"
	"  --isn N                our initial sequence number (default: random)\n"
	"  --timeout S            give up if no peer connected after S seconds\n"
	"  --linger MS            time in TIME-WAIT before exiting (default: 2 RTO)\n"
	"  --sndbuf/--rcvbuf B    send/receive buffer in bytes (default 262144)\n"
	"  --pcap FILE            write every segment sent and received to FILE (pcap)\n"
	"  --gso                  segmentation offload, as for connect (what we send\n"
	"                         bypasses this host's netfilter and IPsec)\n"
	"  -v, -vv                log states, drops and retransmissions; -vv every segment\n";

static int usage_error(bool listen, const char *msg)
{
	ptcp_error("%s", msg);
	fprintf(stderr, "See 'p2ptcp help %s'.\n", listen ? "listen" : "connect");
	return PTCP_EXIT_USAGE;
}

static int pick_local(struct ptcp_cli_direct *o, struct ptcp_endpoint *local)
{
	char ifname[32], a[48];
	int rv;

	if (o->has_local_addr) {
		*local = o->local;
	} else if (!o->listen) {
		rv = ptcp_route_source(&o->peer, local);
		if (rv != 0) {
			ptcp_endpoint_format(&o->peer, a, sizeof(a));
			ptcp_error("no route to %s: %s", a, strerror(-rv));
			return PTCP_EXIT_SYSTEM;
		}
	} else {
		rv = ptcp_route_first_address(local, ifname, sizeof(ifname));
		if (rv != 0) {
			ptcp_error("no IPv4 address on any interface: give --local-addr");
			return PTCP_EXIT_SYSTEM;
		}
		ptcp_info("local address from interface %s", ifname);
	}
	local->port = o->local_port;
	return 0;
}

/* Opens the wire (port, raw socket, firewall table, capture, --gso's
 * packet socket) while we have the capabilities, then gives them up
 * before the first segment is read: only --gso keeps CAP_NET_ADMIN (its
 * conntrack, xfrm and neighbour messages at ESTABLISHED). Returns 0 or
 * the exit code (the line is printed). */
static int open_wire(struct ptcp_wire *w, const struct ptcp_session_config *cfg)
{
	struct ptcp_session_result res;
	struct ptcp_wire_config wc;
	uint64_t keep = cfg->gso ? PTCP_PRIVS_NET_ADMIN : 0;
	char err[256];
	int rv;

	memset(&wc, 0, sizeof(wc));
	memset(&res, 0, sizeof(res));
	wc.local = cfg->local;
	wc.mark = cfg->mark;
	wc.pcap_path = cfg->pcap_path;
	wc.gso = cfg->gso;
	if (ptcp_wire_open(w, &wc, &res) != 0) {
		ptcp_error("%s", res.msg);
		return ptcp_cli_exit_code(&res);
	}
	if ((rv = ptcp_privs_drop(keep, true, err, sizeof(err))) != 0) {
		ptcp_error("%s", err);
		ptcp_wire_close(w);
		return PTCP_EXIT_SYSTEM;
	}
	ptcp_info("privileges: %s", keep ? "kept only CAP_NET_ADMIN (--gso)" : "none kept");
	return 0;
}

static int run(int argc, char *argv[], bool listen)
{
	struct ptcp_session_config cfg;
	struct ptcp_session_result res;
	struct ptcp_cli_direct o;
	struct ptcp_wire w;
	char err[256];
	int rv;

	ptcp_log_set_start(ptcp_clock_now());
	if (ptcp_cli_parse_direct(&o, listen, argc, argv, err, sizeof(err)) != 0)
		return usage_error(listen, err);
	if (o.help) {
		fputs(listen ? listen_usage : connect_usage, stdout);
		return PTCP_EXIT_OK;
	}
	ptcp_log_set_level(PTCP_LOG_NOTICE + o.verbose);

	ptcp_session_config_default(&cfg);
	if ((rv = pick_local(&o, &cfg.local)) != 0)
		return rv;
	cfg.passive = listen;
	if (listen)
		cfg.remote.family = PTCP_AF_NONE;
	else
		cfg.remote = o.peer;
	cfg.has_isn = o.has_isn;
	cfg.open.isn = o.isn;
	cfg.open.has_peer_isn = o.has_peer_isn;
	cfg.open.peer_isn = o.peer_isn;
	cfg.open_timeout = o.timeout;
	cfg.linger = o.linger;
	cfg.pcap_path = o.pcap;
	cfg.gso = o.gso;
	if (o.sndbuf)
		cfg.conn.sndbuf = o.sndbuf;
	if (o.rcvbuf)
		cfg.conn.rcvbuf = o.rcvbuf;
	cfg.conn.first_syn_ttl = o.first_syn_ttl;
	if (!listen && !o.active) {
		/* Hole punching: repeat the SYN at a fixed pace for the whole
		 * --timeout, and survive the RST a NAT may send before the
		 * peer's own SYN has opened it. */
		cfg.conn.punching = true;
		cfg.conn.syn_interval = o.punch_interval;
		uint64_t n = o.timeout ? o.timeout / o.punch_interval + 1 : UINT64_MAX;

		cfg.conn.syn_retries = n > 1000000 ? 1000000 : (unsigned)n;
	}

	if ((rv = open_wire(&w, &cfg)) != 0)
		return rv;
	cfg.wire = &w;
	rv = ptcp_session_run(&cfg, &res);
	ptcp_wire_close(&w);
	if (rv == 0)
		return PTCP_EXIT_OK;
	ptcp_error("%s", res.msg);
	return ptcp_cli_exit_code(&res);
}

int ptcp_cmd_connect(int argc, char *argv[])
{
	return run(argc, argv, false);
}

int ptcp_cmd_listen(int argc, char *argv[])
{
	return run(argc, argv, true);
}
