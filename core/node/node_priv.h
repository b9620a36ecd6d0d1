/* Inside a node (include/p2ptcp/p2ptcp.h): what node.c, peer.c, gso.c
 * and the rendezvous glue share. Not installed.
 *
 * Data flow. A received packet: raw socket (net/rawsock; IPv4 segments
 * with data through the receive ring, net/rxring, where it is open) -> node.c
 * on_raw -> the connection table (engine/stack) -> a connection -> the
 * peer's channel (secure/channel), when the application reads. A byte to
 * send: ptcp_peer_write() -> channel -> connection -> the table's output
 * -> node.c flush -> raw socket (or a peer's packet socket, gso.c). Each
 * hop goes one way; the node is the only place that knows libevent.
 *
 * After anything happens (a packet, the timer, an application call) the
 * node "settles": every peer takes its next step (peer_step in peer.c),
 * the table's output is sent, and the one timer is armed at the earliest
 * deadline. Application calls do their part at once and ask for a settle
 * through ev_kick, which runs from the loop: callbacks never run inside
 * an application's call. */
#ifndef PTCP_NODE_PRIV_H
#define PTCP_NODE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"
#include "identity.h"
#include "nftguard.h"
#include "nlog.h"
#include "p2ptcp/p2ptcp.h"
#include "pcapw.h"
#include "rawsock.h"
#include "rxring.h"
#include "relaymsg.h"
#include "stack.h"

struct event;
struct event_base;
struct ptcp_gso;
struct ptcp_rdvflow;
struct ptcp_relay_conn;

/* The SO_MARK of our segments (ASCII "ptcp"); the firewall table lets
 * RSTs with this mark through and drops the kernel's own. */
#define PTCP_NODE_MARK 0x70746370u
/* Segments gathered per sendmmsg(2). */
#define PTCP_NODE_TX_BATCH 32
/* Packets read per wake-up of the raw socket. */
#define PTCP_NODE_RX_BATCH 64

/* The channel binding: the ISNs (8 bytes), or over the relay
 * PTCP_PEER_RELAY_LABEL and the relay token. */
#define PTCP_PEER_RELAY_LABEL "p2ptcp relay"
#define PTCP_PEER_BINDING_MAX (sizeof(PTCP_PEER_RELAY_LABEL) - 1 + PTCP_RELAY_TOKEN_LEN)

/* A peer's way from request to end. */
enum peer_phase {
	PEER_REQUESTED = 0, /* asked the rendezvous server, no match yet */
	PEER_SCHEDULED,     /* matched: the first SYN waits for start_at */
	PEER_OPENING,       /* the connection is opening (punching) */
	PEER_RELAYING,      /* punching gave up: joining at the relay (relay.h) */
	PEER_HANDSHAKE,     /* ESTABLISHED, the secure channel's handshake runs */
	PEER_OPEN,          /* peer_open was called: data flows */
	PEER_ENDED,         /* ended (err says how); reported, then freed */
};

/* A second attempt at a peer, over the other IP version (Happy Eyeballs,
 * RFC 8305, for a peer registered over both): a connection of its own,
 * with its endpoints and ISNs from its own MATCH, punched at the same
 * time as the first (docs/nat-traversal.md, "IPv6"). */
struct peer_alt {
	bool on;                           /* there is one */
	bool started;                      /* its connection exists */
	struct ptcp_conn *conn;
	struct ptcp_endpoint local, remote;
	struct ptcp_open open;
	ptcp_ts start_at;                  /* its first SYN */
	ptcp_ts synced_at;                 /* synchronized since (0: not) */
};

/* Port prediction: at most this many ports of a peer behind a symmetric
 * NAT with sequential ports are punched at once, the first at once and
 * each further one PTCP_PEER_PREDICT_GAP later (docs/nat-traversal.md,
 * "Symmetric NATs with predictable ports"). */
#define PTCP_PEER_PREDICT_PORTS 16
#define PTCP_PEER_PREDICT_GAP (100 * PTCP_NS_PER_US)
/* ... and the symmetric side's second SYN comes no sooner than this after
 * its first (with TTL 2, which opened its NAT's next port): the peer's
 * candidates must have opened theirs before a SYN of ours reaches the
 * peer's NAT, or a NAT that answers with RST undoes our mapping, and our
 * next SYN takes another port. */
#define PTCP_PEER_AIMED_FIRST_GAP (5 * PTCP_NS_PER_MS)

struct ptcp_peer {
	struct ptcp_node *node;
	struct ptcp_peer *prev, *next;     /* the node's list */
	void *user;
	enum peer_phase phase;
	bool accepted;                     /* came through listen_direct */
	bool told_new;                     /* peer_new was called */
	bool via_rendezvous;
	int err;                           /* why it ended (0 = clean) */

	struct ptcp_conn *conn;            /* NULL before the open and after
	                                      release to the table */
	struct ptcp_endpoint local, remote;
	struct ptcp_open open;             /* ISNs */
	bool isn_from_table;               /* open.isn unset: RFC 6528 by the table */
	uint64_t open_timeout;             /* ns from the first SYN, 0 = the
	                                      engine's own limit */
	ptcp_ts request_deadline;          /* PEER_REQUESTED: no answer, give up */
	ptcp_ts start_at;                  /* PEER_SCHEDULED: first SYN */
	uint64_t server_rtt;               /* ns: our round trip to the
	                                      rendezvous server, which sizes
	                                      the first punching interval (0:
	                                      none, punch_interval throughout) */
	ptcp_ts open_deadline;             /* PEER_OPENING: give up */
	ptcp_ts handshake_deadline;        /* PEER_HANDSHAKE: give up */
	bool active;                       /* plain active open, no punching */

	/* Who the peer should be: from the MATCH or ptcp_direct. */
	uint8_t expect_id[PTCP_ID_LEN];
	bool has_expect_id;
	bool listener_side;                /* a peer that asked for us */
	enum ptcp_channel_role role;       /* from the match */

	/* The secure channel; NULL without encryption. tx_wire holds
	 * handshake bytes or sealed records on their way into the
	 * connection's send buffer; rx_wire bytes from the connection on
	 * their way into the channel. */
	struct ptcp_channel *ch;
	uint8_t binding[PTCP_PEER_BINDING_MAX];
	uint8_t *tx_wire;
	size_t tx_wire_off, tx_wire_len;
	uint8_t *rx_wire;
	size_t rx_wire_off, rx_wire_len;
	bool end_sealed;                   /* our end record is in tx_wire or sent */
	bool eof_checked;                  /* ptcp_channel_input_eof() was called */

	/* The application's side. */
	bool shut_wanted;                  /* ptcp_peer_shutdown() */
	bool shut_done;                    /* ptcp_conn_shutdown() called */
	bool read_blocked;                 /* read returned 0: peer_readable due
	                                      when bytes (or the end) arrive */
	bool write_blocked;                /* write took less than asked:
	                                      peer_writable due when room */
	bool eof_delivered;                /* read returned PTCP_ERR_EOF */
	bool dead;                         /* ptcp_peer_close(): free, no callback */
	bool rdv_pending;                  /* a request of ours at the rendezvous */
	uint8_t rdv_todo;                  /* ... registrations (bits by
	                                      rdvflow.c's index) still to ask */
	uint8_t rdv_out;                   /* ... asked, no answer yet */
	int rdv_err;                       /* the most telling failure so far */

	/* Port prediction: conn aims at the first port predicted, cand[] at
	 * the next ones (cand_port[]), opened one by one; the first of them
	 * all to be synchronized becomes conn, the rest are dropped. */
	struct ptcp_conn *cand[PTCP_PEER_PREDICT_PORTS - 1];
	uint16_t cand_port[PTCP_PEER_PREDICT_PORTS - 1];
	unsigned n_cand;                   /* ports in cand_port[] (0: none) */
	uint8_t cand_family;               /* ... of the attempt they belong
	                                      to (Happy Eyeballs may make the
	                                      other one the first) */
	bool aimed_at;                     /* the other way round: our NAT is
	                                      symmetric, and the peer punches
	                                      the ports it predicts for us */
	unsigned cand_opened;              /* ... whose connection was opened */
	ptcp_ts cand_next;                 /* the next one opens then */

	/* Happy Eyeballs: the attempt over the other IP version, and when
	 * the first one (conn) was synchronized, for a responder's wait. */
	struct peer_alt alt;
	ptcp_ts synced_at;

	/* Who sent a RST that reset us: the raw socket sees each packet's
	 * IP TTL, which the engine does not. The peer's segments arrive with
	 * the TTL they had minus the hops on the way; a RST from a box on
	 * the path (a NAT that forgot the connection) with the box's own,
	 * minus fewer hops. */
	bool peer_ttl_seen;                /* a non-RST segment from the peer came */
	uint8_t peer_ttl_min, peer_ttl_max;
	bool rst_ttl_seen;                 /* the RST that closed the connection */
	uint8_t rst_ttl;

	/* The relay (relay.h): the MATCH's offer, and the stream through it
	 * once punching gave up, which then replaces conn. */
	bool has_relay_offer;
	bool relay_at_once;                /* our NAT is symmetric: no punching */
	struct ptcp_endpoint relay_ep;
	uint8_t relay_token[PTCP_RELAY_TOKEN_LEN];
	struct ptcp_relay_conn *relay;

	struct ptcp_gso *gso;              /* settings.gso, once established */
	ptcp_peer_info info;
	uint64_t last_rto;                 /* ns: the connection's RTO when it
	                                      was released (for the linger) */
};

struct ptcp_node {
	struct event_base *base;
	ptcp_settings s;                   /* strings point into str_* below */
	ptcp_callbacks cb;
	void *user;
	struct ptcp_nlog log;
	ptcp_ts t0;

	struct ptcp_identity id;
	bool has_id;
	bool key_wiped;                    /* settings.forget_key did its work */

	struct ptcp_rawsock rs;
	struct ptcp_rxring ring;           /* when open (fd >= 0), IPv4
	                                      segments with data or FIN come
	                                      through it, the others through
	                                      the raw socket (rxring.h) */
	struct ptcp_nftguard guard;
	struct ptcp_pcapw *pcap;
	bool gso_forced;                   /* settings.gso as given (--gso) */
	bool gso_auto;                     /* offload by default: this host
	                                      passed ptcp_gso_host_check(),
	                                      and s.gso was set for it */
	int pkt_fd;                        /* --gso: a packet socket made while
	                                      privileged, for the first peer that
	                                      offloads; -1: none (left) */
	struct ptcp_stack *stack;
	struct ptcp_listener *listener[PTCP_RAWSOCK_NFAM];  /* listen_direct, per
	                                      family */
	struct event *ev_raw[PTCP_RAWSOCK_NFAM];   /* per open family */
	struct event *ev_ring;             /* the receive ring's, when open */
	struct event *ev_fwd;              /* a ring on every address: checks
	                                      once a second that the host has
	                                      not started forwarding IPv4 */
	struct event *ev_timer, *ev_kick;
	ptcp_ts timer_at;
	bool in_settle, settle_again;

	uint8_t *rx_buf;                   /* PTCP_RAWSOCK_RECV_MANY packets of
	                                      PTCP_RAWSOCK_MTU */
	uint8_t *tx_buf;                   /* PTCP_NODE_TX_BATCH segments of tx_cap */
	size_t tx_cap;
	struct ptcp_rawsock_tx tx[PTCP_NODE_TX_BATCH];

	struct ptcp_peer *peers;           /* every peer not yet freed */
	unsigned n_peers;                  /* ... not ENDED */

	struct ptcp_rdvflow *rdv;          /* rendezvous workflow, or NULL */
	bool listening;                    /* ptcp_node_listen() */

	bool closing;                      /* ptcp_node_close() */
	ptcp_ts close_deadline;            /* reset what is left */
	ptcp_ts linger_until;              /* TIME-WAIT kept until then */
	bool closed_told;

	char *str_key_dir, *str_rendezvous, *str_rendezvous_key, *str_local_addr, *str_pcap;
	char id_text[PTCP_ID_TEXT_MAX];    /* our peer id, for log lines */
};

/* Log through the node's callback. */
#define nlog_error(n, ...) ptcp_nlog(&(n)->log, PTCP_LOG_ERROR, __VA_ARGS__)
#define nlog_warn(n, ...) ptcp_nlog(&(n)->log, PTCP_LOG_WARN, __VA_ARGS__)
#define nlog_notice(n, ...) ptcp_nlog(&(n)->log, PTCP_LOG_NOTICE, __VA_ARGS__)
#define nlog_info(n, ...) ptcp_nlog(&(n)->log, PTCP_LOG_INFO, __VA_ARGS__)
#define nlog_debug(n, ...) ptcp_nlog(&(n)->log, PTCP_LOG_DEBUG, __VA_ARGS__)

/* node.c */
void ptcp_node_kick(struct ptcp_node *n);
ptcp_ts ptcp_node_now(void);
/* The MSS of a connection of family: a 1500-byte link less the IP and
 * TCP headers (1460 for IPv4, 1440 for IPv6). */
uint16_t ptcp_node_mss(uint8_t family);
/* The engine configuration of a new connection to this peer (buffers,
 * keepalive, punching schedule, the MSS of its family). */
void ptcp_node_conn_config(const struct ptcp_node *n, const struct ptcp_peer *p,
                           struct ptcp_config *cc);
/* The short form of a peer's id or endpoint, for log lines. */
const char *ptcp_node_peer_name(const struct ptcp_peer *p, char *buf, size_t cap);

/* peer.c */
struct ptcp_peer *ptcp_peer_alloc(struct ptcp_node *n, void *user);
/* Starts the TCP open now (PEER_SCHEDULED or a direct connect). Returns
 * 0 or an error (the peer is then ended with it). */
int ptcp_peer_start(struct ptcp_peer *p, ptcp_ts now);
/* Adds the attempt over the other IP version to a peer that is scheduled
 * or opening (its MATCH came second): local and remote of that version,
 * open its ISNs, start_at its first SYN. Returns 0, or PTCP_ERR_STATE
 * (past opening, an attempt of that version exists, or one is chosen). */
int ptcp_peer_add_alt(struct ptcp_peer *p, const struct ptcp_endpoint *local,
                      const struct ptcp_endpoint *remote, const struct ptcp_open *open,
                      ptcp_ts start_at);
/* Aims p (scheduled, IPv4 or IPv6) at the ports a symmetric NAT with
 * sequential ports will likely give the peer's next flow: last_port +
 * delta, + 2 delta, ... (PTCP_PEER_PREDICT_PORTS of them, within
 * 1..65535), each a connection of its own. */
void ptcp_peer_predict(struct ptcp_peer *p, uint16_t last_port, int16_t delta);
/* True when p has an attempt (first or second) over family. */
bool ptcp_peer_has_family(const struct ptcp_peer *p, uint8_t family);
/* One step: deadlines, the channel, callbacks, the end. */
void ptcp_peer_step(struct ptcp_peer *p, ptcp_ts now);
/* The earliest deadline of p, or PTCP_TS_NEVER. */
ptcp_ts ptcp_peer_deadline(const struct ptcp_peer *p);
/* Ends p with err: aborts the connection if it is open, then reports. */
void ptcp_peer_fail(struct ptcp_peer *p, int err, ptcp_ts now);
/* The same with a line of detail for ptcp_peer_info.detail. */
void ptcp_peer_fail_detail(struct ptcp_peer *p, int err, ptcp_ts now, const char *detail);
/* Frees p and unlinks it (after peer_closed, or when dead). */
void ptcp_peer_destroy(struct ptcp_peer *p);
/* A connection event for p (through the table). */
void ptcp_peer_conn_event(struct ptcp_peer *p, const struct ptcp_event *ev);
/* The IP TTL of a packet p's connection took (is_rst: a RST, which
 * closed the connection with a reset). */
void ptcp_peer_note_ttl(struct ptcp_peer *p, uint8_t ttl, bool is_rst, bool reset_now);

/* gso.c: segmentation offload for one peer (settings.gso). */

/* Offload by default (settings.gso_auto), asked while the node opens:
 * when this host has no nftables base chain for IPv4 beside the node's
 * own table, no iptables-legacy table and no IPsec policy or SA, sets
 * n->s.gso and n->gso_auto; else logs why not. */
void ptcp_gso_host_check(struct ptcp_node *n);
int ptcp_gso_new(struct ptcp_gso **out, struct ptcp_peer *p);
void ptcp_gso_free(struct ptcp_gso *g);
/* Sends what p's connection has due. Returns true when it took care of
 * it (the connection's output is drained), false when offload is off for
 * this peer now and the node's raw path must carry it. */
bool ptcp_gso_flush(struct ptcp_gso *g, ptcp_ts now);
/* A retransmission timeout: the path may have changed. */
void ptcp_gso_path_suspect(struct ptcp_gso *g);

#endif
