/* Exit codes of p2ptcp (documented in p2ptcp(1)). */
#ifndef PTCP_CLI_STATUS_H
#define PTCP_CLI_STATUS_H

enum ptcp_exit {
	PTCP_EXIT_OK = 0,         /* clean close, every byte delivered */
	PTCP_EXIT_CONN = 1,       /* the connection failed otherwise (aborted,
	                             ISN mismatch, ...) */
	PTCP_EXIT_USAGE = 2,      /* bad command line */
	PTCP_EXIT_REFUSED = 3,    /* the peer answered our SYN with a RST */
	PTCP_EXIT_TIMEOUT = 4,    /* no connection in time (punching, --timeout),
	                             or the peer stopped answering (keepalive,
	                             user timeout) */
	PTCP_EXIT_RESET = 5,      /* the connection was reset */
	PTCP_EXIT_RENDEZVOUS = 6, /* the rendezvous failed: the server is
	                             unreachable or refused the request (unknown
	                             peer, not allowed, busy, a wrong key) */
	PTCP_EXIT_SYMMETRIC = 7,  /* our NAT gives every connection a new port */
	PTCP_EXIT_CHANNEL = 8,    /* the secure channel failed (wrong peer,
	                             tampered, truncated, no handshake) */
	PTCP_EXIT_RELAY = 9,      /* the relay failed: unreachable, refused us,
	                             the peer did not come, the stream broke */
	PTCP_EXIT_FIREWALL = 69,  /* nftables not usable (EX_UNAVAILABLE) */
	PTCP_EXIT_SYSTEM = 71,    /* a system call failed (EX_OSERR) */
	PTCP_EXIT_PERM = 77,      /* missing CAP_NET_RAW/CAP_NET_ADMIN (EX_NOPERM) */
	PTCP_EXIT_SIGNAL = 128,   /* + the signal's number: 130 SIGINT, 143 SIGTERM */
};

/* The exit code for a library error (0 for 0). */
int ptcp_cli_exit_code(int err);

#endif
