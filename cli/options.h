/* Command-line values and the options of the direct-mode subcommands
 * (connect, listen). Pure parsing, no I/O: the error text goes into the
 * caller's buffer, in the form "invalid port: 'x'", for the caller to
 * print after "p2ptcp: ". */
#ifndef PTCP_CLI_OPTIONS_H
#define PTCP_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* What `connect` and `listen` were asked to do. Durations in ns. */
struct ptcp_cli_direct {
	bool listen;                  /* the listen subcommand */
	bool help;                    /* --help / -h: print usage and stop */
	uint16_t local_port;          /* --local-port */
	bool has_local_addr;
	struct ptcp_endpoint local;   /* --local-addr (port 0) */
	bool has_peer;
	struct ptcp_endpoint peer;    /* --peer ADDR:PORT */
	bool has_isn;
	uint32_t isn;                 /* --isn */
	bool has_peer_isn;
	uint32_t peer_isn;            /* --peer-isn */
	bool active;                  /* --active: plain three-way handshake */
	uint64_t punch_interval;      /* --punch-interval MS (default 500 ms) */
	uint64_t timeout;             /* --timeout S; 0 = none */
	int64_t linger;               /* --linger MS in TIME-WAIT; -1 = auto */
	uint8_t first_syn_ttl;        /* --first-syn-ttl N; 0 = default TTL */
	uint32_t sndbuf, rcvbuf;      /* --sndbuf/--rcvbuf BYTES; 0 = default */
	const char *pcap;             /* --pcap FILE */
	bool gso;                     /* --gso: segmentation offload */
	int verbose;                  /* count of -v */
};

#define PTCP_CLI_PUNCH_INTERVAL_DEFAULT (500ULL * 1000 * 1000)     /* ns */
#define PTCP_CLI_CONNECT_TIMEOUT_DEFAULT (30ULL * 1000 * 1000 * 1000) /* ns */

/* A port 1..65535, decimal. Returns 0 or -1 with "invalid port: 's'". */
int ptcp_cli_parse_port(const char *s, uint16_t *port, char *err, size_t errlen);

/* A dotted-quad IPv4 address. Fills ep (port 0). Returns 0 or -1 with
 * "invalid address: 's'" (IPv6: "IPv6 is not supported yet: 's'"). */
int ptcp_cli_parse_addr(const char *s, struct ptcp_endpoint *ep, char *err, size_t errlen);

/* "ADDR:PORT". Returns 0 or -1 with "invalid peer: 's' (expected
 * ADDR:PORT)" or the address or port's own error. */
int ptcp_cli_parse_endpoint(const char *s, struct ptcp_endpoint *ep, char *err, size_t errlen);

/* An unsigned 32-bit number, decimal or 0x-hexadecimal (ISNs). what names
 * the value in the error: "invalid ISN: 's'". Returns 0 or -1. */
int ptcp_cli_parse_u32(const char *s, uint32_t *v, const char *what, char *err, size_t errlen);

/* A non-negative decimal with an optional fraction ("1.5"), in units of
 * unit_ns nanoseconds, at most max_ns. Returns 0 or -1 with "invalid
 * <what>: 's'". */
int ptcp_cli_parse_duration(const char *s, uint64_t unit_ns, uint64_t max_ns, uint64_t *ns,
                            const char *what, char *err, size_t errlen);

/* Parses argv[1..argc) of `connect` (listen false) or `listen` (listen
 * true); argv[0] is the subcommand's name. Options take their value as
 * the next argument or after '=' (--peer=10.0.0.2:4000); -v may repeat
 * (-vv). Checks that required options are there and that they fit
 * together. On --help stops with o->help set and returns 0.
 *
 * Returns 0, or -1 with one line in err ("unknown option: '--x'",
 * "option '--peer' needs a value", "missing --local-port", ...). */
int ptcp_cli_parse_direct(struct ptcp_cli_direct *o, bool listen, int argc, char *argv[],
                          char *err, size_t errlen);

#endif
