/* rendezvousd's settings: defaults, the optional config file and the
 * command line. Every option has the same name in both: `--max-clients
 * 20000` on the command line is `max-clients = 20000` in the file. The
 * command line wins; `listen` given there replaces the file's list.
 * Durations are seconds, with a fraction allowed ("0.5"). */
#ifndef PTCP_RDVD_CONFIG_H
#define PTCP_RDVD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define PTCP_RDVD_LISTEN_MAX 8
#define PTCP_RDVD_KEY_DIR "/var/lib/rendezvousd"   /* without $STATE_DIRECTORY */
#define PTCP_RDVD_PATH_MAX 4096

/* A limit given as a number of connections or as a share of max-clients
 * ("6%"). */
struct ptcp_rdvd_share {
	unsigned value;                /* connections, or percent; 0: no limit */
	bool percent;
};

struct ptcp_rdvd_config {
	struct ptcp_endpoint listen[PTCP_RDVD_LISTEN_MAX];
	unsigned n_listen;             /* 0: the default, 0.0.0.0:7450 */
	unsigned max_clients;          /* open connections, registered or not */
	unsigned max_per_addr;         /* connections from one address
	                                  (IPv6: one /64); 0 = no limit */
	struct ptcp_rdvd_share max_per_ipv4_24;  /* ... from one IPv4 /24 */
	struct ptcp_rdvd_share max_per_ipv6_56;  /* ... from one IPv6 /56 */
	struct ptcp_rdvd_share max_per_ipv6_48;  /* ... from one IPv6 /48 */
	unsigned rate;                 /* new connections + requests per second
	                                  per address; 0 = no limit */
	unsigned burst;                /* ... of which this many at once */
	unsigned idle_timeout_ms;      /* registered client silent this long */
	unsigned handshake_timeout_ms; /* accept to REGISTERED */
	unsigned message_timeout_ms;   /* first to last byte of one message */
	unsigned max_wait_ms;          /* longest a CONNECT may wait */
	unsigned start_delay_ms;       /* base of the MATCH start delay */
	unsigned probe_port;           /* 0: none; else also listen on this
	                                  port of each listen address and tell
	                                  clients so in REGISTERED (NAT
	                                  behaviour discovery) */
	unsigned zrtt_window_ms;       /* take a 0-RTT HELLO whose client clock
	                                  is within this of ours; 0: never */
	unsigned zrtt_cache;           /* ... and remember this many of their
	                                  nonces at most (replay.h) */
	bool has_redis;                /* --redis: share peers with the other
	                                  instances on that Redis */
	struct ptcp_endpoint redis;    /* ... at this numeric address and port */
	unsigned redis_ttl_ms;         /* a registration's life in Redis
	                                  unless refreshed (a third of it) */
	bool relay;                    /* --relay: offer a relay with every
	                                  match (relay.h) */
	unsigned relay_port;           /* ... on this port of each listen address */
	unsigned relay_streams;        /* streams at once */
	unsigned relay_rate;           /* bytes/s each way per stream; 0 = none */
	unsigned relay_total_rate;     /* bytes/s each way, all streams; 0 = none */
	unsigned relay_idle_ms;        /* a stream without a byte this long ends */
	unsigned relay_handshake_ms;   /* accept to JOIN */
	unsigned relay_wait_ms;        /* an offer's life: the MATCH to both JOINs */
	int log_level;                 /* enum ptcp_log_level */
	bool syslog;                   /* log to syslog instead of stderr */
	char key_dir[PTCP_RDVD_PATH_MAX];  /* the server key: key_dir/private.key */
	bool help, version;            /* --help, --version: print and stop */
	bool keygen, show_id;          /* --keygen, --id: make or show the key
	                                  and stop */
	const char *config_path;       /* --config FILE */
};

/* Fills cfg with the defaults. The key directory is systemd's
 * $STATE_DIRECTORY (its first entry) when set, else PTCP_RDVD_KEY_DIR. */
void ptcp_rdvd_config_default(struct ptcp_rdvd_config *cfg);

/* Applies the command line argv[1..argc) to cfg. With --config, reads
 * that file first, then the rest of the command line on top of it. -v
 * (repeatable) raises the log level one step each. Returns 0, or -1 with
 * one line in err that quotes the bad value ("invalid value for
 * --max-clients: 'x'", "FILE:3: unknown setting 'foo'"). */
int ptcp_rdvd_config_parse(struct ptcp_rdvd_config *cfg, int argc, char *argv[],
                           char *err, size_t errlen);

/* The connections a share allows when max_clients are allowed in all:
 * the number, or the percentage rounded up (at least 1); 0 = no limit. */
unsigned ptcp_rdvd_share_limit(const struct ptcp_rdvd_share *s, unsigned max_clients);

/* The usage text. */
extern const char ptcp_rdvd_usage[];

#endif
