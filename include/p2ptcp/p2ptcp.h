/* libp2ptcp: direct TCP connections between peers behind NATs.
 *
 * A program includes this one header and links with
 * `pkg-config --cflags --libs p2ptcp`. docs/library.md tours the API with
 * examples/p2ptcp-cat.c.
 *
 * The model
 * ---------
 * A *node* (ptcp_node) owns one local TCP port, in IPv4 and IPv6: per IP
 * version a raw socket and the kernel socket that reserves the port, the
 * firewall table that keeps the kernel's own TCP off it, a userspace TCP
 * stack with many connections, and, when a rendezvous server is
 * configured, a registration with it per IP version that both have.
 * Every connection to another peer is a *peer* (ptcp_peer): a TCP
 * connection through both NATs or stateful firewalls (a simultaneous open
 * from the port the rendezvous saw; with both IP versions, one attempt
 * per version at once, the first that connects kept), and over it, unless
 * turned off, the secure channel that proves both peer ids and encrypts
 * the stream.
 *
 * The node runs on the caller's libevent event_base and never blocks.
 * The library installs no signal handler, never touches stdin, stdout or
 * stderr, and keeps no global state: every log line goes to the
 * callbacks' log function. Two nodes in one process are independent.
 *
 * Functions return 0 (or a non-negative count) on success and a negative
 * PTCP_ERR_* value on failure; ptcp_strerror() turns one into a sentence.
 * Callbacks run from inside the event loop; a callback may call any
 * function of this header, including ptcp_peer_close() on its own peer,
 * but not ptcp_node_free() on its own node (use ptcp_node_close()).
 *
 * Peer ids are Ed25519 public keys, PTCP_ID_LEN bytes; ptcp_id_parse()
 * and ptcp_id_format() convert the text form `p2ptcp id` prints. */
#ifndef P2PTCP_H
#define P2PTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <p2ptcp/version.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct sockaddr;

typedef struct ptcp_node ptcp_node;
typedef struct ptcp_peer ptcp_peer;

#define PTCP_ID_LEN 32          /* bytes of a peer id (Ed25519 public key) */
#define PTCP_ID_TEXT_MAX 96     /* bytes that hold any peer id text, with a label */
#define PTCP_RENDEZVOUS_PORT 7450

/* --- errors: one space for the whole library ---------------------------- */

enum ptcp_error {
	PTCP_OK = 0,

	/* Arguments, state and the TCP connection (-1 .. -31). */
	PTCP_ERR_INVAL = -1,          /* an argument is out of range */
	PTCP_ERR_NOMEM = -2,          /* out of memory */
	PTCP_ERR_TRUNCATED = -3,      /* segment shorter than its headers say */
	PTCP_ERR_BAD_OFFSET = -4,     /* data offset < 5 words or past the end */
	PTCP_ERR_BAD_OPTION = -5,     /* a TCP option's length is malformed */
	PTCP_ERR_CHECKSUM = -6,       /* TCP checksum does not match */
	PTCP_ERR_NOBUF = -7,          /* the caller's buffer is too small */
	PTCP_ERR_STATE = -8,          /* the call is not allowed in this state */
	PTCP_ERR_CLOSED = -9,         /* closed for this direction */
	PTCP_ERR_RESET = -10,         /* the connection was reset */
	PTCP_ERR_REFUSED = -11,       /* the peer refused the connection */
	PTCP_ERR_TIMEOUT = -12,       /* retransmissions exhausted */
	PTCP_ERR_ISN_MISMATCH = -13,  /* the peer's SYN carried another ISN than agreed */
	PTCP_ERR_ABORTED = -14,       /* the local application aborted */
	PTCP_ERR_EXISTS = -15,        /* a connection with this 4-tuple exists */
	PTCP_ERR_NOTFOUND = -16,      /* no such connection */
	PTCP_ERR_KEEPALIVE = -17,     /* keepalive probes went unanswered */
	PTCP_ERR_CONN_LIMIT = -18,    /* as many connections as allowed exist */
	PTCP_ERR_MEM_LIMIT = -19,     /* a connection would pass a memory bound */
	PTCP_ERR_EOF = -20,           /* the peer ended its stream; all was read */
	PTCP_ERR_USER_TIMEOUT = -21,  /* data went unacknowledged too long */

	/* The secure channel: what the peer or the path did (-64 .. -95). */
	PTCP_ERR_CH_PROTOCOL = -64,   /* the peer does not speak the channel */
	PTCP_ERR_CH_VERSION = -65,    /* the peer speaks another channel version */
	PTCP_ERR_CH_ROLE = -66,       /* both sides play the same role */
	PTCP_ERR_CH_SELF = -67,       /* the peer's id is our own */
	PTCP_ERR_CH_WRONG_PEER = -68, /* the peer is not the expected peer id */
	PTCP_ERR_CH_NOT_ALLOWED = -69,/* authenticated, but not allowed */
	PTCP_ERR_CH_AUTH = -70,       /* the peer's signature does not verify */
	PTCP_ERR_CH_WEAK_KEY = -71,   /* the peer's ephemeral key is weak */
	PTCP_ERR_CH_HANDSHAKE_EOF = -72, /* the stream ended during the handshake */
	PTCP_ERR_CH_MALFORMED = -73,  /* a record header is invalid */
	PTCP_ERR_CH_TAMPERED = -74,   /* a record failed authentication */
	PTCP_ERR_CH_REPLAY = -75,     /* a record arrived a second time */
	PTCP_ERR_CH_REORDER = -76,    /* a record arrived out of order */
	PTCP_ERR_CH_TRUNCATED = -77,  /* the stream ended before its end record */
	PTCP_ERR_CH_TRAILING = -78,   /* bytes followed the end record */
	PTCP_ERR_CH_EXHAUSTED = -79,  /* record sequence numbers ran out */
	PTCP_ERR_CH_CRYPTO = -80,     /* libsodium cannot initialise */
	PTCP_ERR_HANDSHAKE_TIMEOUT = -81, /* the peer did not finish the channel
	                                     handshake in time */

	/* The rendezvous and reaching the peer (-96 .. -127). */
	PTCP_ERR_RDV_UNREACHABLE = -96,  /* the server cannot be reached */
	PTCP_ERR_RDV_RESOLVE = -97,      /* the server's name does not resolve */
	PTCP_ERR_RDV_PROTOCOL = -98,     /* the server broke the protocol */
	PTCP_ERR_RDV_KEY = -99,          /* the server's key is not the pinned one */
	PTCP_ERR_RDV_REFUSED = -100,     /* the server refused us (limits, version) */
	PTCP_ERR_UNKNOWN_PEER = -101,    /* the peer id is not registered */
	PTCP_ERR_NOT_AUTHORISED = -102,  /* the peer does not allow us */
	PTCP_ERR_NOT_WAITING = -103,     /* the peer is registered but did not listen in time */
	PTCP_ERR_SELF = -104,            /* the peer id is our own */
	PTCP_ERR_BUSY = -105,            /* the peer serves as many peers as it will */
	PTCP_ERR_SYMMETRIC_NAT = -106,   /* our NAT gives every flow a new port */
	PTCP_ERR_PUNCH_TIMEOUT = -107,   /* no connection within the punching window */
	PTCP_ERR_NO_RENDEZVOUS = -108,   /* the call needs a rendezvous server */
	PTCP_ERR_FAMILY = -109,          /* the peer is registered over the other
	                                    IP version only (and we have none of
	                                    it, or its server is not reached) */
	PTCP_ERR_RELAY = -110,           /* the relay cannot be reached, broke
	                                    its protocol, or the relayed stream
	                                    broke */
	PTCP_ERR_RELAY_REFUSED = -111,   /* the relay refused us (token,
	                                    signature, full) */
	PTCP_ERR_RELAY_TIMEOUT = -112,   /* the peer did not come to the relay */

	/* This host (-128 .. -159). */
	PTCP_ERR_PERM = -128,         /* missing CAP_NET_RAW or CAP_NET_ADMIN */
	PTCP_ERR_ADDRINUSE = -129,    /* another socket holds the local port */
	PTCP_ERR_PORT_SERVED = -130,  /* another p2ptcp serves the local port */
	PTCP_ERR_ADDRNOTAVAIL = -131, /* the local address is not this host's */
	PTCP_ERR_FIREWALL = -132,     /* nftables cannot be used */
	PTCP_ERR_IDENTITY = -133,     /* our key cannot be loaded */
	PTCP_ERR_SYSTEM = -134,       /* a system call failed (the log says which) */
};

/* A one-line English description of err. Unknown values give "unknown
 * error". Never returns NULL. */
const char *ptcp_strerror(int err);

/* The library's version, e.g. "0.2.0" (PTCP_VERSION_STR of the build). */
const char *ptcp_version(void);

/* --- peer ids ------------------------------------------------------------ */

/* Parses a peer id as `p2ptcp id` prints it (an optional "label-" first).
 * Returns 0, or PTCP_ERR_INVAL with a one-line reason that quotes the
 * text in err[0..errlen) (may be NULL). */
int ptcp_id_parse(uint8_t id[PTCP_ID_LEN], const char *text, char *err, size_t errlen);

/* Writes the text form of id into buf. Returns its length, or
 * PTCP_ERR_NOBUF when cap < PTCP_ID_TEXT_MAX would not hold it. */
int ptcp_id_format(const uint8_t id[PTCP_ID_LEN], char *buf, size_t cap);

/* --- logging --------------------------------------------------------------- */

enum ptcp_log_level {
	PTCP_LOG_ERROR = 0,   /* a failure of the node or of a peer */
	PTCP_LOG_WARN,        /* something a user should know */
	PTCP_LOG_NOTICE,      /* one line per session, registrations (the default) */
	PTCP_LOG_INFO,        /* steps: states, punching, the channel (-v) */
	PTCP_LOG_DEBUG,       /* every segment (-vv) */
};

/* --- settings --------------------------------------------------------------- */

typedef struct ptcp_settings {
	/* Who we are: the key directory (`p2ptcp keygen`), NULL for
	 * $XDG_CONFIG_HOME/p2ptcp. Needed with a rendezvous server or the
	 * secure channel; a node in direct mode without encryption loads no
	 * key. */
	const char *key_dir;

	/* The rendezvous server, "HOST[:PORT]" (a bare domain is looked up as
	 * SRV _p2ptcp._tcp.<domain> first), or NULL for direct mode only. */
	const char *rendezvous;
	/* The server's id, pinned: a server with another key is refused
	 * (PTCP_ERR_RDV_KEY). NULL: any server key. */
	const char *rendezvous_key;

	/* The local endpoint: address ("10.0.0.2" or "2001:db8::2": that IP
	 * version only; NULL: any address of this host, IPv4 and IPv6) and
	 * port (0: a free port the kernel picks, free in both versions). */
	const char *local_addr;
	uint16_t local_port;

	/* Serving: at most this many peers at once (default 64); a peer
	 * beyond it is told PTCP_ERR_BUSY. */
	unsigned max_peers;

	/* The secure channel (default on): both peer ids proven, the stream
	 * encrypted. Off, bytes go on the wire as they are. */
	bool encrypt;
	/* ns from ESTABLISHED to a finished channel handshake (default 10 s);
	 * a peer that takes longer is reset (PTCP_ERR_HANDSHAKE_TIMEOUT). */
	uint64_t handshake_timeout;

	/* Hole punching for punch_window ns (default 10 s): by peer id the
	 * SYNs start at an eighth of the round trip to the rendezvous server
	 * (at least 1 ms) and their interval doubles up to punch_interval ns
	 * (default 200 ms); in direct mode they come every punch_interval.
	 * A RST from the path brings the next SYN forward (the engine's
	 * syn_rst_gap). The first SYN carries IP TTL first_syn_ttl (default
	 * 2; 0 = the route's). */
	uint64_t punch_interval;
	uint64_t punch_window;
	uint8_t first_syn_ttl;
	/* ns the rendezvous server may hold a connect request while the peer
	 * is registered but busy or between sessions (default 30 s). */
	uint64_t connect_wait;

	/* TCP: buffers in bytes, bounds (default 4 MiB each: they start at
	 * 128 KiB and grow with the path's bandwidth-delay product), keepalive (default
	 * 25 s idle, then 5 probes 6 s apart: an idle session keeps NAT
	 * mappings open and a vanished peer is noticed within a minute),
	 * and the user timeout: data unacknowledged this long ends the
	 * connection (default 60 s; 0 = only the retransmission limit). */
	uint32_t sndbuf;
	uint32_t rcvbuf;
	uint64_t keepalive_idle;      /* ns; 0 = no keepalive */
	uint64_t keepalive_interval;  /* ns */
	unsigned keepalive_count;
	uint64_t user_timeout;        /* ns */

	/* ns to keep a connection's TIME-WAIT when the node closes, so that
	 * a retransmitted FIN is still acknowledged (-1: automatic, twice the
	 * RTO, at least 200 ms, at most 2 MSL). */
	int64_t linger;

	/* Segmentation offload through a packet socket once established,
	 * whatever this host's rules (it bypasses this host's netfilter,
	 * docs/driver.md; keeps CAP_NET_ADMIN). IPv4 only: IPv6 peers go
	 * through the raw socket. */
	bool gso;
	/* Segmentation offload where it is safe (default on): when the node
	 * opens, this host has no nftables base chain for IPv4 but the
	 * node's own table, no iptables-legacy table and no IPsec policy or
	 * SA, so that no firewall, NAT or IPsec of this host would have
	 * seen what it sends. Otherwise the raw socket, and the log says why.
	 * No capability is kept for it. */
	bool gso_auto;
	/* After setup the node gives up every capability it no longer needs
	 * and, unless this is set, also empties the bounding set and sets
	 * no_new_privs, so that nothing it runs can gain any (a program that
	 * starts other programs on the peers' behalf, like `listen --exec`,
	 * may want their privileges left as they are). */
	bool keep_bounding_set;

	/* Wipe our key from memory as soon as no more need it: once the
	 * first peer's secure channel has its own copy (a program that makes
	 * one connection). The node then registers no more: a lost
	 * rendezvous is not retried, and later requests fail with
	 * PTCP_ERR_IDENTITY. */
	bool forget_key;

	/* Write every segment sent and received to this pcap file (mode
	 * 0600, never through a symbolic link), or NULL. */
	const char *pcap_path;

	/* The most verbose level given to callbacks.log (default
	 * PTCP_LOG_NOTICE). */
	enum ptcp_log_level log_level;

	/* When punching fails (its window passed, or our NAT is symmetric)
	 * and the rendezvous server offered a relay with the match, go
	 * through the relay (default on): an ordinary TCP connection to the
	 * server's relay port, with the secure channel end to end over it,
	 * so the relay sees only sealed records. Needs encrypt. Off, such a
	 * peer fails as without a relay (PTCP_ERR_PUNCH_TIMEOUT,
	 * PTCP_ERR_SYMMETRIC_NAT). */
	bool relay;
} ptcp_settings;

/* Fills *s with the defaults named above. */
void ptcp_settings_default(ptcp_settings *s);

/* --- callbacks ---------------------------------------------------------------- */

/* What happened to the node (callbacks.node_event). */
enum ptcp_node_event {
	PTCP_NODE_REGISTERED = 1,  /* registered with the rendezvous server (the
	                              first of the node's registrations, one
	                              per IP version); for a listening node,
	                              peers can now reach us */
	PTCP_NODE_RDV_LOST,        /* the last registration is gone (err says
	                              why); a listening node tries again after
	                              retry_in ns, with backoff */
	PTCP_NODE_CLOSED,          /* ptcp_node_close() finished: every peer has
	                              ended; the node may be freed now */
};

/* How a peer came and went: for the one log line per session. */
typedef struct ptcp_peer_info {
	uint8_t id[PTCP_ID_LEN];      /* the peer's id: proven by the channel once
	                                 open (all zero in direct mode without a
	                                 channel) */
	bool id_proven;               /* the secure channel verified id */
	bool encrypted;
	char remote[64];              /* "203.0.113.7:4000" or "[2001:db8::7]:4000":
	                                 the peer's endpoint (of the attempt
	                                 kept, with two) */
	char local[64];               /* ours */
	uint64_t started;             /* CLOCK_MONOTONIC ns: request or match */
	uint64_t established;         /* ... TCP established, 0 = never */
	uint64_t opened;              /* ... channel open (peer_open), 0 = never */
	uint64_t ended;               /* ... peer_closed, 0 while running */
	uint64_t bytes_in, bytes_out; /* application bytes each way */
	uint64_t retransmits;         /* TCP segments sent again */
	uint64_t srtt;                /* ns, smoothed round trip */
	char detail[256];             /* one line on how it ended, in the
	                                 library's words ("rendezvous server
	                                 203.0.113.10:7450 refused the
	                                 connection"); "" when clean or when
	                                 ptcp_strerror() says all */
	bool relayed;                 /* the stream goes through the rendezvous
	                                 server's relay (settings.relay): remote
	                                 is the relay's endpoint, established
	                                 the moment both peers were in */
} ptcp_peer_info;

typedef struct ptcp_callbacks {
	/* One line (no newline) at level; NULL: no logging. */
	void (*log)(void *user, enum ptcp_log_level level, const char *line);

	/* The node: see enum ptcp_node_event. err is 0 or why, detail one
	 * line about it ("" if none); retry_in is for PTCP_NODE_RDV_LOST (0:
	 * nothing more will be tried). Optional. */
	void (*node_event)(ptcp_node *node, void *user, enum ptcp_node_event ev, int err,
	                   uint64_t retry_in, const char *detail);

	/* A listening node: decides whether the authenticated peer id may
	 * connect. Called after the secure channel verified the id (never on
	 * the rendezvous server's word alone). NULL: everyone whom
	 * ptcp_node_listen()'s allow list admits. */
	bool (*peer_allow)(ptcp_node *node, void *user, const uint8_t id[PTCP_ID_LEN]);

	/* A listening node: a new peer is on its way (matched, punching).
	 * Set its user pointer here (ptcp_peer_set_user). Optional. */
	void (*peer_new)(ptcp_peer *peer, void *user);

	/* The peer is connected and, with the channel, authenticated: data
	 * may flow. The first callback after which ptcp_peer_write() takes
	 * bytes. */
	void (*peer_open)(ptcp_peer *peer, void *user);

	/* Bytes are ready for ptcp_peer_read() (or its end: read returns
	 * PTCP_ERR_EOF). Edge-triggered: called when something arrives after
	 * ptcp_peer_read() returned 0 (and once after peer_open); read until
	 * it returns 0 to be called again. Until the application reads, the
	 * peer's window closes: that is the backpressure. */
	void (*peer_readable)(ptcp_peer *peer, void *user);

	/* ptcp_peer_write() has room again after it took less than asked
	 * (edge-triggered like peer_readable). */
	void (*peer_writable)(ptcp_peer *peer, void *user);

	/* The last call for this peer: err is 0 for a clean close both ways,
	 * else why it ended. info describes the session. The peer is freed
	 * when this returns. */
	void (*peer_closed)(ptcp_peer *peer, void *user, int err, const ptcp_peer_info *info);
} ptcp_callbacks;

/* --- the node ------------------------------------------------------------------ */

/* Creates a node on base: checks privileges, loads the key if needed,
 * opens the raw socket, reserves the local port and installs the firewall
 * table, and then drops every capability it no longer needs. Nothing is
 * sent yet. cb and user are kept; settings are copied.
 *
 * Returns 0 with *out set, or
 *   PTCP_ERR_INVAL          a setting is out of range (the log says which)
 *   PTCP_ERR_PERM           missing CAP_NET_RAW or CAP_NET_ADMIN
 *   PTCP_ERR_ADDRINUSE      another socket holds local_port
 *   PTCP_ERR_PORT_SERVED    another p2ptcp serves local_port
 *   PTCP_ERR_ADDRNOTAVAIL   local_addr is not an address of this host
 *   PTCP_ERR_FIREWALL       nftables cannot be used
 *   PTCP_ERR_IDENTITY       the key cannot be loaded
 *   PTCP_ERR_NOMEM, PTCP_ERR_SYSTEM */
int ptcp_node_new(ptcp_node **out, struct event_base *base, const ptcp_settings *settings,
                  const ptcp_callbacks *cb, void *user);

/* Frees the node at once: every peer is reset (no peer_closed calls), the
 * registration and the firewall table are gone. NULL is allowed. */
void ptcp_node_free(ptcp_node *node);

/* Ends the node gracefully: no new peers; open peers are shut down as by
 * ptcp_peer_shutdown() and get their peer_closed; TIME-WAIT is kept as
 * long as useful; then node_event PTCP_NODE_CLOSED. Peers that have not
 * ended after timeout ns are reset. Returns 0 or PTCP_ERR_STATE (already
 * closing). */
int ptcp_node_close(ptcp_node *node, uint64_t timeout);

/* Registers with the rendezvous server and serves every peer that asks
 * for us, as many at once as settings.max_peers, each with peer_new,
 * then peer_open once its id is proven. allow[0..n_allow) restricts who
 * the server matches us with (0: anyone; the callback peer_allow still
 * decides on the proven id). The registration is kept and renewed: after
 * a server restart or outage the node registers again with backoff.
 * Returns 0, PTCP_ERR_NO_RENDEZVOUS, PTCP_ERR_STATE (already listening
 * or closing), PTCP_ERR_INVAL (allow NULL with n_allow > 0) or
 * PTCP_ERR_NOMEM. Up to 8 ids also go to the server, so that others are
 * refused there; a longer list is checked here only. Later failures come as
 * node_event PTCP_NODE_RDV_LOST. A peer that asks over both IP versions
 * is one peer (one peer_new). */
int ptcp_node_listen(ptcp_node *node, const uint8_t (*allow)[PTCP_ID_LEN], unsigned n_allow);

/* Asks the rendezvous server for the peer id, over every IP version both
 * have, and connects to it (with both versions, both attempts at once,
 * the first that connects kept): the callbacks follow (peer_open, or
 * peer_closed with why it failed: PTCP_ERR_UNKNOWN_PEER,
 * PTCP_ERR_NOT_AUTHORISED, PTCP_ERR_BUSY, PTCP_ERR_FAMILY,
 * PTCP_ERR_SYMMETRIC_NAT, PTCP_ERR_PUNCH_TIMEOUT, PTCP_ERR_RELAY,
 * PTCP_ERR_RELAY_REFUSED, PTCP_ERR_RELAY_TIMEOUT, a channel error...).
 * peer_user is the peer's user pointer. Returns 0 with *out set, or
 * PTCP_ERR_NO_RENDEZVOUS, PTCP_ERR_SELF, PTCP_ERR_CONN_LIMIT (max_peers),
 * PTCP_ERR_STATE (closing), PTCP_ERR_NOMEM. */
int ptcp_node_connect(ptcp_node *node, const uint8_t id[PTCP_ID_LEN], void *peer_user,
                      ptcp_peer **out);

/* Direct mode: no rendezvous, the peer's endpoint is known. */
typedef struct ptcp_direct {
	const struct sockaddr *remote;  /* the peer (IPv4 or IPv6), its port */
	unsigned remote_len;
	bool active;             /* a plain three-way handshake to a listener;
	                            false: simultaneous open, SYNs at
	                            punch_interval for punch_window */
	bool has_isn;            /* isn is ours (else RFC 6528) */
	uint32_t isn;
	bool has_peer_isn;       /* the peer's SYN must carry peer_isn */
	uint32_t peer_isn;
	/* ns from the first SYN to ESTABLISHED before giving up
	 * (PTCP_ERR_TIMEOUT); 0: punch_window for a simultaneous open, the
	 * engine's SYN retries for an active one. */
	uint64_t open_timeout;
	/* With settings.encrypt: the peer's id, required (there is no
	 * rendezvous to name it). */
	const uint8_t *peer_id;
} ptcp_direct;

/* Opens a connection to d->remote from the node's port, over its IP
 * version (MSS 1460 for IPv4, 1440 for IPv6). Returns 0 with *out set,
 * or PTCP_ERR_INVAL (no remote, neither IPv4 nor IPv6, no port, an IP
 * version the node does not have, or encryption without peer_id; the log
 * says which), PTCP_ERR_EXISTS, PTCP_ERR_CONN_LIMIT, PTCP_ERR_STATE
 * (closing), PTCP_ERR_SYSTEM (no route), PTCP_ERR_NOMEM. */
int ptcp_node_connect_direct(ptcp_node *node, const ptcp_direct *d, void *peer_user,
                             ptcp_peer **out);

/* Direct mode: accepts connections on the node's port from anyone, over
 * every IP version the node has (a passive open, as a kernel listen()),
 * at most backlog half-open at once per version.
 * Each comes as peer_new, then peer_open. Without settings.encrypt only.
 * Returns 0, PTCP_ERR_STATE or PTCP_ERR_INVAL. */
int ptcp_node_listen_direct(ptcp_node *node, unsigned backlog);

/* Our endpoint, written into buf: with one IP version its address and
 * port ("10.0.0.2:4000", "[2001:db8::2]:4000", "0.0.0.0:4000" for any
 * address), with both "*:4000". Returns its length. */
int ptcp_node_local(const ptcp_node *node, char *buf, size_t cap);

/* Our peer id (PTCP_ERR_STATE when no key was loaded). */
int ptcp_node_id(const ptcp_node *node, uint8_t id[PTCP_ID_LEN]);

/* The rendezvous server's id, as its signature proved it in our latest
 * registration (over our fresh nonce, or over our 0-RTT HELLO under the
 * pinned key): from node_event PTCP_NODE_REGISTERED on. A program may
 * record it and pin it next time (settings.rendezvous_key), which makes
 * the next registration 0-RTT: `p2ptcp` keeps such records in
 * known_servers (p2ptcp(1)); the library itself writes no file. Returns
 * 0 with id set, PTCP_ERR_STATE before a registration proved it, or
 * PTCP_ERR_NO_RENDEZVOUS. */
int ptcp_node_rendezvous_key(const ptcp_node *node, uint8_t id[PTCP_ID_LEN]);

/* Peers now open or on their way. */
unsigned ptcp_node_peer_count(const ptcp_node *node);

/* --- a peer -------------------------------------------------------------------- */

/* Queues up to len bytes for the peer. Returns the count taken (less than
 * len, or 0, when the send buffer is full: peer_writable follows), or
 * PTCP_ERR_STATE before peer_open, PTCP_ERR_CLOSED after
 * ptcp_peer_shutdown(), or the peer's error once it failed. */
ssize_t ptcp_peer_write(ptcp_peer *peer, const void *buf, size_t len);

/* Copies up to cap received bytes (verified plaintext with the channel)
 * into buf. Returns the count, 0 when none is ready now (peer_readable
 * follows), PTCP_ERR_EOF after the peer's end once everything was read,
 * or the peer's error. */
ssize_t ptcp_peer_read(ptcp_peer *peer, void *buf, size_t cap);

/* ptcp_peer_read() without the copy into buf: points iov[0..*iovcnt) (two
 * at most) at the next bytes to read where the library holds them (the
 * connection's receive buffer, which wraps; the channel's plaintext of one
 * record; a relay's buffer), in order, and returns their total; or 0,
 * PTCP_ERR_EOF or the peer's error as ptcp_peer_read() (*iovcnt 0). The
 * bytes stay where they are, and valid, until ptcp_peer_consume() or
 * another call for this peer, or the return to the event loop: write them
 * on (writev(2) takes iov as it is), then consume what was written.
 * Nothing is lent that a read would not return. */
ssize_t ptcp_peer_peek(ptcp_peer *peer, struct iovec iov[2], int *iovcnt);

/* Takes the first n bytes of what ptcp_peer_peek() lent, as a read of n
 * would (the window it opens). Returns 0, PTCP_ERR_INVAL when n is more
 * than was lent, or the peer's error. */
int ptcp_peer_consume(ptcp_peer *peer, size_t n);

/* Ends our direction after the queued bytes: the channel's end record,
 * then our FIN. The peer may keep sending; peer_closed follows once both
 * directions ended. Returns 0 or PTCP_ERR_CLOSED. */
int ptcp_peer_shutdown(ptcp_peer *peer);

/* Resets the connection (RST) and frees the peer at once: no peer_closed
 * call. */
void ptcp_peer_close(ptcp_peer *peer);

/* The session so far (see ptcp_peer_info). */
void ptcp_peer_get_info(const ptcp_peer *peer, ptcp_peer_info *info);

void ptcp_peer_set_user(ptcp_peer *peer, void *user);
void *ptcp_peer_get_user(const ptcp_peer *peer);
ptcp_node *ptcp_peer_node(const ptcp_peer *peer);

#ifdef __cplusplus
}
#endif

#endif
