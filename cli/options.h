/* The command line of `p2ptcp connect` and `p2ptcp listen`: one option
 * table and one parser for both subcommands and both of their modes
 * (through a rendezvous server, or direct to a known endpoint). Pure
 * parsing, no I/O but reading the config file: an error goes into the
 * caller's buffer as one line ("invalid port: 'x'") for the caller to
 * print after "p2ptcp: ". */
#ifndef PTCP_CLI_OPTIONS_H
#define PTCP_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "known.h"
#include "p2ptcp/p2ptcp.h"

#define PTCP_CLI_RDV_ENV "P2PTCP_RENDEZVOUS"
#define PTCP_CLI_ALLOW_MAX 4096     /* ids from --allow and --allow-file */

/* What connect or listen was asked to do. Durations in ns. */
struct ptcp_cli_opts {
	bool listen;                  /* the subcommand */
	bool direct;                  /* direct mode (--peer, or listen
	                                 --local-port without a server) */
	bool help;                    /* --help / -h: print usage and stop */
	int verbose;                  /* count of -v */
	bool syslog;                  /* --syslog */

	/* Both modes. */
	uint16_t local_port;          /* --local-port; 0 = any */
	bool has_local_addr;
	struct ptcp_endpoint local;   /* --local-addr (port 0) */
	uint64_t timeout;             /* --timeout S: direct: to connect;
	                                 listen: for a peer to come; 0 = none */
	bool has_timeout;
	int64_t linger;               /* --linger MS; -1 = automatic */
	uint32_t sndbuf, rcvbuf;      /* --sndbuf/--rcvbuf; 0 = default */
	const char *pcap;             /* --pcap FILE */
	bool gso;                     /* --gso */
	bool no_gso;                  /* --no-gso */
	uint64_t punch_interval;      /* --punch-interval MS; 0 = default */
	uint64_t punch_window;        /* --punch-window S; 0 = default */
	bool has_ttl;
	uint8_t first_syn_ttl;        /* --first-syn-ttl N */
	uint64_t keepalive;           /* --keepalive S: idle before probes;
	                                 0 = default; --no-keepalive sets none */
	bool no_keepalive;

	/* Direct mode. */
	bool has_peer;
	struct ptcp_endpoint peer;    /* --peer ADDR:PORT */
	bool has_isn, has_peer_isn;
	uint32_t isn, peer_isn;       /* --isn, --peer-isn */
	bool active;                  /* --active */

	/* Through a rendezvous server. */
	const char *peer_text;        /* connect: <peer-id> as typed */
	uint8_t peer_id[PTCP_ID_LEN];
	const char *rendezvous;       /* --rendezvous, $P2PTCP_RENDEZVOUS or
	                                 the config file, without an "<id>@" */
	const char *rendezvous_key;   /* the server's pinned id (text): from
	                                 --rendezvous-key, "<id>@host", or
	                                 'rendezvous-key' in the config file
	                                 with the config file's server, else
	                                 the server's record in known_servers;
	                                 NULL: not pinned */
	const char *dir;              /* --dir: our key's directory */
	uint64_t wait;                /* connect --wait S */
	uint8_t (*allow)[PTCP_ID_LEN];/* --allow and --allow-file, n_allow */
	unsigned n_allow;
	const char *exec_cmd;         /* listen --exec CMD */
	const char *forward;          /* listen --forward HOST:PORT */
	char forward_host[256];
	char forward_port[8];
	unsigned max_peers;           /* listen --max-peers; 0 = default */
	bool no_encrypt;              /* --no-encrypt */
	bool no_relay;                /* --no-relay */

	bool no_known;                /* --no-known-servers, or 'known-servers
	                                 = no' in the config file */
	struct ptcp_known known;      /* the server's record in known_servers
	                                 (known.line 0: none); without another
	                                 pin, rendezvous_key is its key */

	bool has_server_key;          /* pinned by --rendezvous-key, ID@ or
	                                 the config file (not by the record) */
	uint8_t server_key[PTCP_ID_LEN];
	char buf_rendezvous[256];     /* the server without "<id>@" */
	char buf_rendezvous_key[PTCP_ID_TEXT_MAX];
};

/* Frees what parsing allocated (the allow list). */
void ptcp_cli_opts_free(struct ptcp_cli_opts *o);

/* Parses argv[1..argc) of `connect` (listen false) or `listen` (listen
 * true); argv[0] is the subcommand's name. Options take their value as
 * the next argument or after '=' (--peer=10.0.0.2:4000); -v may repeat
 * (-vv). Decides the mode, checks that every option belongs to it and
 * that required ones are there. On --help stops with o->help set (and
 * o->direct telling which usage) and returns 0.
 *
 * Returns 0, or -1 with one line in err ("unknown option: '--x'",
 * "option '--peer' needs a value", "missing <peer-id> ...", ...). */
int ptcp_cli_parse(struct ptcp_cli_opts *o, bool listen, int argc, char *argv[], char *err,
                   size_t errlen);

/* The usage text of a subcommand in a mode. */
const char *ptcp_cli_usage(bool listen, bool direct);

/* --- value parsers (also for tests) ------------------------------------------- */

/* A port 1..65535, decimal. Returns 0 or -1 with "invalid port: 's'". */
int ptcp_cli_parse_port(const char *s, uint16_t *port, char *err, size_t errlen);

/* An IPv4 (dotted quad) or IPv6 address. Fills ep (port 0). Returns 0 or
 * -1 with "invalid address: 's'". */
int ptcp_cli_parse_addr(const char *s, struct ptcp_endpoint *ep, char *err, size_t errlen);

/* "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6). Returns 0 or -1 with
 * "invalid peer: 's' (...)" saying what form was expected (an IPv6
 * address without brackets, brackets around IPv4), or the address or
 * port's own error. */
int ptcp_cli_parse_endpoint(const char *s, struct ptcp_endpoint *ep, char *err, size_t errlen);

/* An unsigned 32-bit number, decimal or 0x-hexadecimal (ISNs). what names
 * the value in the error: "invalid ISN: 's'". Returns 0 or -1. */
int ptcp_cli_parse_u32(const char *s, uint32_t *v, const char *what, char *err, size_t errlen);

/* A non-negative decimal with an optional fraction ("1.5"), in units of
 * unit_ns nanoseconds, at most max_ns. Returns 0 or -1 with "invalid
 * <what>: 's'". */
int ptcp_cli_parse_duration(const char *s, uint64_t unit_ns, uint64_t max_ns, uint64_t *ns,
                            const char *what, char *err, size_t errlen);

/* Reads peer ids from path, one per line ('#' starts a comment; a line
 * may hold a label before the id, as `p2ptcp id --label` prints), into
 * o's allow list. Returns 0 or -1 with "FILE:LINE: invalid peer id ..."
 * or the file's error in err. */
int ptcp_cli_read_allow_file(struct ptcp_cli_opts *o, const char *path, char *err, size_t errlen);

#endif
