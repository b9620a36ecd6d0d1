/* One TCP connection (a TCB, RFC 9293 section 3.3.1), sans-IO.
 *
 * The engine never touches a socket, a clock or a random source. The caller:
 *   - passes the time as `now` (monotonic nanoseconds) to every call,
 *   - hands received segments in with ptcp_conn_input() / _input_bytes(),
 *   - pulls segments to send with ptcp_conn_output() until it returns 0,
 *   - arms one timer at ptcp_conn_expiry() and calls
 *     ptcp_conn_handle_expiry() when it passes,
 *   - moves application bytes with ptcp_conn_send() / ptcp_conn_recv(),
 *   - supplies ISNs (or computes them with isn.h from its own secret) and
 *     the allocator.
 * After any input, expiry or application call, the caller should drain
 * ptcp_conn_output() and re-read ptcp_conn_expiry().
 *
 * All state lives in struct ptcp_conn; there are no globals. */
#ifndef PTCP_CONN_H
#define PTCP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cc.h"
#include "segment.h"
#include "seq.h"
#include "tstamp.h"

typedef ptrdiff_t ptcp_ssize;

/* The eleven states of RFC 9293 section 3.3.2. */
enum ptcp_state {
	PTCP_CLOSED = 0,
	PTCP_LISTEN,
	PTCP_SYN_SENT,
	PTCP_SYN_RECEIVED,
	PTCP_ESTABLISHED,
	PTCP_FIN_WAIT_1,
	PTCP_FIN_WAIT_2,
	PTCP_CLOSE_WAIT,
	PTCP_CLOSING,
	PTCP_LAST_ACK,
	PTCP_TIME_WAIT,
};

/* The RFC's name of a state ("SYN-SENT"); "?" for values out of range. */
const char *ptcp_state_name(enum ptcp_state s);

/* Why an incoming segment was discarded (reported with PTCP_EV_DROP and
 * counted in struct ptcp_stats.drops[]). */
enum ptcp_drop {
	PTCP_DROP_MALFORMED = 0,   /* parse failed (bad offset, option, length) */
	PTCP_DROP_CHECKSUM,        /* checksum mismatch */
	PTCP_DROP_PORTS,           /* ports do not match this connection */
	PTCP_DROP_STATE,           /* nothing to do with it in this state (in CLOSED
	                              it is answered with a RST, RFC 9293 3.10.7.1) */
	PTCP_DROP_BAD_FLAGS,       /* illegal flag mix (SYN+RST, SYN+FIN, no ACK) */
	PTCP_DROP_BAD_ACK,         /* unacceptable ACK (answered with RST or ACK) */
	PTCP_DROP_OUT_OF_WINDOW,   /* sequence not acceptable (answered with ACK) */
	PTCP_DROP_RST_INVALID,     /* RST outside the window, ignored */
	PTCP_DROP_RST_CHALLENGED,  /* RST in window but not exact: challenge ACK */
	PTCP_DROP_SYN_CHALLENGED,  /* SYN in a synchronized state: challenge ACK */
	PTCP_DROP_RST_TIME_WAIT,   /* RST in TIME-WAIT, ignored (RFC 1337) */
	PTCP_DROP_ISN_MISMATCH,    /* SYN with an ISN other than the agreed one */
	PTCP_DROP_RST_PUNCHING,    /* RST in SYN-SENT while punching, ignored */
	PTCP_DROP_OLD_ACK,         /* ACK older than SND.UNA - MAX.SND.WND (RFC 5961 5.2) */
	PTCP_DROP_NO_SPACE,        /* data beyond what the receive buffer holds */
	PTCP_DROP_PAWS,            /* timestamp older than TS.Recent: an old
	                              duplicate (RFC 7323 5.3, answered with ACK) */
	PTCP_DROP_NO_TIMESTAMP,    /* no timestamp option once both sides agreed
	                              to send one (RFC 7323 3.2) */
	PTCP_DROP__COUNT
};

/* A short name for a drop reason ("out-of-window"). */
const char *ptcp_drop_name(enum ptcp_drop d);

enum ptcp_event_type {
	PTCP_EV_STATE = 1,       /* state changed: from -> to */
	PTCP_EV_DROP,            /* a segment was dropped: drop */
	PTCP_EV_ISN_MISMATCH,    /* peer ISN differs from the agreed one:
	                            peer_isn = what the SYN carried; accepted
	                            tells whether the policy accepted it */
	PTCP_EV_RETRANSMIT,      /* a retransmission timeout fired: seq, backoff */
	PTCP_EV_FAST_RETRANSMIT, /* fast retransmit / NewReno partial ack: seq */
	PTCP_EV_CLOSED,          /* connection reached CLOSED: error says why
	                            (0 = clean close) */
};

struct ptcp_event {
	enum ptcp_event_type type;
	ptcp_ts now;
	enum ptcp_state from, to;  /* PTCP_EV_STATE */
	enum ptcp_drop drop;       /* PTCP_EV_DROP */
	int error;                 /* PTCP_EV_CLOSED: 0 or enum ptcp_error */
	ptcp_seq seq;              /* RETRANSMIT / FAST_RETRANSMIT / ISN_MISMATCH */
	unsigned backoff;          /* RETRANSMIT: number of consecutive timeouts */
	bool accepted;             /* ISN_MISMATCH */
	bool ack_held;             /* DROP: the ACK that answers such a segment
	                              was held back by a rate limit (counted in
	                              struct ptcp_stats.acks_ratelimited) */
};

struct ptcp_conn;

typedef void ptcp_event_fn(void *user, struct ptcp_conn *conn, const struct ptcp_event *ev);

/* Allocation comes in through the API. free gets the size that was asked
 * for. */
struct ptcp_alloc {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *ptr, size_t size);
	void *ctx;
};

/* What to do with a SYN whose sequence number differs from the peer ISN
 * agreed beforehand (ptcp_open.has_peer_isn). Never silent: both report a
 * PTCP_EV_ISN_MISMATCH event. */
enum ptcp_isn_policy {
	PTCP_ISN_REJECT = 0,    /* drop the SYN and keep waiting for the agreed one;
	                           if the open then times out the error is
	                           PTCP_ERR_ISN_MISMATCH, not PTCP_ERR_TIMEOUT */
	PTCP_ISN_ACCEPT,        /* synchronize to the SYN's ISN anyway */
};

struct ptcp_config {
	struct ptcp_alloc alloc;     /* required */
	ptcp_event_fn *on_event;     /* optional */
	void *user;                  /* passed to on_event */

	uint32_t sndbuf;             /* largest send buffer, bytes (default 4
	                                MiB); it starts at 128 KiB (or this,
	                                if smaller) and grows to twice cwnd */
	uint32_t rcvbuf;             /* largest receive buffer, bytes (default
	                                4 MiB); it starts at 128 KiB and grows
	                                with what the application reads per
	                                round trip (auto-tuning); the window
	                                scale is derived from this bound */
	uint16_t mss;                /* MSS we advertise and our largest
	                                segment, bytes (default 1460) */
	bool sack;                   /* advertise SACK-permitted and send SACK
	                                blocks for out-of-order data (default on
	                                via ptcp_config_default) */
	bool window_scale;           /* offer window scaling (default on) */
	bool timestamps;             /* offer RFC 7323 timestamps: RTT on every
	                                ACK, PAWS (default on) */
	enum ptcp_cc_algo cc;        /* congestion control: PTCP_CC_BBR (BBR
	                                v1 with pacing, the default),
	                                PTCP_CC_CUBIC (RFC 9438 with
	                                HyStart++) or PTCP_CC_NEWRENO (RFC
	                                5681) */

	uint64_t rto_initial;        /* ns, RFC 6298 (2.1): 1 s */
	uint64_t rto_min;            /* ns: 200 ms (as Linux; RFC 6298 says 1 s) */
	uint64_t rto_max;            /* ns: 60 s */
	unsigned syn_retries;        /* SYN retransmissions before giving up (6) */
	unsigned data_retries;       /* consecutive RTOs before giving up (15) */
	uint64_t user_timeout;       /* ns; 0 = off. Data sent and not
	                                acknowledged for this long ends the
	                                connection with PTCP_ERR_USER_TIMEOUT,
	                                however many retransmissions that is
	                                (RFC 9293 3.8.3 USER TIMEOUT, RFC 5482) */
	uint64_t syn_interval;       /* ns; if non-zero, SYNs are retransmitted
	                                at this fixed interval instead of backing
	                                off (hole punching schedule) */
	uint64_t syn_interval_max;   /* ns; with syn_interval: each SYN
	                                retransmission doubles the interval, up
	                                to this (0 = a fixed interval) */
	bool punching;               /* in SYN-SENT and (an active open's)
	                                SYN-RECEIVED, a RST does not end the
	                                attempt (it may come from the peer's NAT
	                                before its own SYN opened it) */
	uint64_t syn_rst_gap;        /* ns; punching: such a RST brings the next
	                                SYN (or SYN-ACK) forward, to a pseudo-
	                                random moment within this (or within the
	                                time the RST took, if longer): a RST from
	                                a NAT has just undone the mapping our
	                                SYN made. 0 = off */
	uint8_t first_syn_ttl;       /* if non-zero, the first SYN carries this
	                                IP TTL (opens our NAT, dies before the
	                                peer's); later ones use the default */

	uint64_t msl;                /* ns, Maximum Segment Lifetime (30 s);
	                                TIME-WAIT lasts 2*MSL */
	uint64_t delack;             /* ns; 0 = ACK every segment at once,
	                                otherwise delayed ACK timeout (RFC 9293
	                                3.8.6.3: at most 500 ms, ACK at least
	                                every second full segment) */
	uint64_t keepalive_idle;     /* ns; 0 = no keepalive */
	uint64_t keepalive_interval; /* ns between unanswered probes */
	unsigned keepalive_count;    /* unanswered probes before giving up */
	unsigned challenge_ack_limit;/* challenge ACKs per second (RFC 5961
	                                section 7), per connection (10) */
	uint64_t invalid_ack_interval; /* ns; at most one ACK per this long
	                                answers the segments we discard as
	                                unacceptable: out of window, PAWS,
	                                an ACK of unsent data, challenge ACKs
	                                (RFC 5961 section 7; Linux's
	                                tcp_invalid_ratelimit). 500 ms; 0 = no
	                                limit. Discarded text and FINs, and a
	                                repeat of the peer's SYN, are answered
	                                regardless (see docs/engine.md) */
	enum ptcp_isn_policy isn_policy;
};

/* Fills *cfg with the defaults named above (alloc, on_event left empty). */
void ptcp_config_default(struct ptcp_config *cfg);

/* What both peers agreed before opening. */
struct ptcp_open {
	ptcp_seq isn;          /* our initial sequence number */
	bool has_peer_isn;     /* the peer's ISN was agreed (rendezvous) */
	ptcp_seq peer_isn;     /* ... and this is it */
};

struct ptcp_stats {
	uint64_t segs_in;           /* segments handed in (parsed) */
	uint64_t segs_out;          /* segments produced by ptcp_conn_output */
	uint64_t bytes_in;          /* payload bytes accepted in order */
	uint64_t bytes_out;         /* payload bytes sent, retransmissions included */
	uint64_t retransmits;       /* segments retransmitted (any cause) */
	uint64_t rto_count;         /* retransmission timeouts */
	uint64_t fast_retransmits;  /* retransmissions of loss recovery and loss
	                               probes (not those after a timeout) */
	uint64_t recoveries;        /* fast recoveries entered */
	uint64_t loss_probes;       /* tail loss probes sent (RFC 8985 7) */
	uint64_t undos;             /* congestion reductions undone as spurious
	                               (RFC 3522 timestamps, RFC 3708 D-SACK) */
	uint64_t dsacks;            /* D-SACK blocks received (RFC 2883) */
	uint64_t challenge_acks;    /* challenge ACKs sent */
	uint64_t acks_ratelimited;  /* ACKs that would have answered a discarded
	                               segment, held back by invalid_ack_interval
	                               or challenge_ack_limit */
	uint64_t dup_acks;          /* duplicate ACKs received */
	uint64_t window_probes;     /* zero-window probes sent (RFC 9293 3.8.6.1) */
	uint64_t drops[PTCP_DROP__COUNT];
	uint64_t rtt_samples;       /* RTT measurements taken */
	uint64_t srtt;              /* ns, 0 before the first sample */
	uint64_t rttvar;            /* ns */
	uint64_t rto;               /* ns */
	uint32_t cwnd;              /* bytes */
	uint32_t ssthresh;          /* bytes (UINT32_MAX: not set; BBR never sets it) */
	uint64_t delivery_rate;     /* bytes per second: the last delivery rate
	                               sample (0 before one) */
	uint64_t pacing_rate;       /* bytes per second data is paced at (0:
	                               not paced, CUBIC and NewReno) */
	uint64_t bbr_btlbw;         /* BBR: bottleneck bandwidth, bytes per second */
	uint64_t bbr_min_rtt;       /* BBR: RTprop, ns (0 before a sample) */
	uint64_t bbr_probe_rtts;    /* BBR: ProbeRTT episodes */
	uint8_t bbr_state;          /* BBR: enum ptcp_bbr_state (ptcp_bbr_state_name) */
	uint32_t pipe;              /* bytes in flight as RFC 6675 estimates them */
	uint32_t snd_wnd;           /* peer's window, bytes, scaled */
	uint32_t rcv_wnd;           /* window we offer, bytes */
	uint32_t sndbuf;            /* bytes the send buffer holds now (auto-tuned
	                               up to cfg.sndbuf) */
	uint32_t rcvbuf;            /* the same for the receive buffer */
	uint16_t snd_mss;           /* bytes */
	uint64_t established_at;    /* ns, time ESTABLISHED was reached, 0 if never */
};

/* What a driver can do with an output segment beyond sending it to
 * ptcp_conn_remote(): it sets these in struct ptcp_txinfo.caps before the
 * output call. */
enum {
	/* Send a segment to info.dst when that is set. Without it, replies
	 * that a LISTEN with no remote addresses to the sender of a segment
	 * (the RST for an ACK, RFC 9293 3.10.7.2) are discarded unsent. */
	PTCP_TXCAP_DST = 1 << 0,
	/* Fill in the TCP checksum: the segments of this output call come
	 * out with the checksum field 0 (a packet socket whose kernel
	 * completes it, say), one pass over the bytes less. */
	PTCP_TXCAP_CSUM = 1 << 1,
};

/* Transmission hints for one output segment. caps is read by the output
 * call; every other field is written by it. */
struct ptcp_txinfo {
	unsigned caps;     /* in: PTCP_TXCAP_* the caller handles */
	uint8_t ttl;       /* IP TTL to use, 0 = the driver's default */
	uint16_t gso_size; /* 0 for one segment; else a super-segment from
	                      ptcp_conn_output_gso() whose payload is cut into
	                      pieces of this many bytes (the last may be
	                      shorter), each with a copy of the header */
	const struct ptcp_endpoint *dst; /* NULL: the segment is for
	                      ptcp_conn_remote(); else for this endpoint
	                      (only with PTCP_TXCAP_DST; valid until the
	                      next call on the connection) */
};

/* Allocates a connection in CLOSED. local is our endpoint; remote is the
 * peer's, or NULL/family PTCP_AF_NONE for a LISTEN that accepts any peer.
 * The config is copied. Returns 0, PTCP_ERR_INVAL (missing allocator, a
 * buffer size of 0 or > 1 GiB, mss < 64, family mismatch) or
 * PTCP_ERR_NOMEM. */
int ptcp_conn_new(struct ptcp_conn **out, const struct ptcp_config *cfg,
                  const struct ptcp_endpoint *local, const struct ptcp_endpoint *remote);

/* Frees the connection and its buffers. No segment is sent; call
 * ptcp_conn_abort() first for a RST. NULL is allowed. */
void ptcp_conn_free(struct ptcp_conn *c);

/* Active OPEN (RFC 9293 3.10.1): CLOSED -> SYN-SENT and queues a SYN.
 * If the peer does the same, the crossing SYNs make the four-message
 * simultaneous open. Returns 0, PTCP_ERR_STATE (not CLOSED, or remote
 * unspecified). */
int ptcp_conn_open_active(struct ptcp_conn *c, const struct ptcp_open *o, ptcp_ts now);

/* Passive OPEN: CLOSED -> LISTEN. The first acceptable SYN binds the remote
 * endpoint (if unspecified) and moves to SYN-RECEIVED. Returns 0 or
 * PTCP_ERR_STATE. */
int ptcp_conn_open_passive(struct ptcp_conn *c, const struct ptcp_open *o, ptcp_ts now);

/* Hands in one parsed segment that arrived from the remote endpoint (or,
 * for a LISTEN with unspecified remote, from src). The caller has already
 * verified the checksum (ptcp_segment_parse with addresses). Data is
 * copied; seg may be freed after the call. src may be NULL when the remote
 * is specified. Returns 0 (also when the segment was dropped: see the
 * event and counters) or PTCP_ERR_INVAL. */
int ptcp_conn_input(struct ptcp_conn *c, const struct ptcp_segment *seg,
                    const struct ptcp_endpoint *src, ptcp_ts now);

/* Parses buf[0..len) as a segment from src (NULL = the remote endpoint)
 * to our local endpoint, verifies its checksum and calls
 * ptcp_conn_input(). A malformed segment is counted and reported as a
 * drop. Returns 0, or the parse error (negative). */
int ptcp_conn_input_bytes(struct ptcp_conn *c, const uint8_t *buf, size_t len,
                          const struct ptcp_endpoint *src, ptcp_ts now);

/* Writes the next segment that is due into buf[0..cap) (TCP header and
 * payload, checksum filled in for the connection's endpoints). Returns its
 * length, 0 when nothing is due now, or PTCP_ERR_NOBUF if cap < 60 + MSS.
 * info (optional) receives per-segment hints. Call until it returns 0.
 * With a pacing rate (BBR) data waits for its departure time: the call
 * returns 0 (or an ACK) and ptcp_conn_expiry() says when to call again. */
int ptcp_conn_output(struct ptcp_conn *c, uint8_t *buf, size_t cap,
                     struct ptcp_txinfo *info, ptcp_ts now);

/* Like ptcp_conn_output(), but new in-order data may come out as one
 * super-segment carrying up to max_segs segments' worth of payload, for a
 * driver that uses segmentation offload (GSO): info->gso_size is then the
 * payload size of each piece. The engine accounts for it exactly as for the
 * individual segments; the driver (or the kernel) must cut it as TSO does:
 * the header repeated, sequence numbers advanced, PSH and FIN on the last
 * piece only, each piece with its own checksum. Retransmissions, probes,
 * SYNs, FIN-only segments and ACKs still come out one segment at a time.
 * The checksum field of a super-segment covers the whole of it. Returns as
 * ptcp_conn_output(); PTCP_ERR_INVAL if max_segs is 0. */
int ptcp_conn_output_gso(struct ptcp_conn *c, uint8_t *buf, size_t cap, unsigned max_segs,
                         struct ptcp_txinfo *info, ptcp_ts now);

/* The next time something is due (retransmission, delayed ACK, persist
 * probe, keepalive, TIME-WAIT end, paced data that ptcp_conn_output()
 * held back), or PTCP_TS_NEVER. */
ptcp_ts ptcp_conn_expiry(const struct ptcp_conn *c);

/* Runs the timers that are due at now. Returns 0. */
int ptcp_conn_handle_expiry(struct ptcp_conn *c, ptcp_ts now);

/* Queues up to len bytes for sending; returns the count accepted (0 when
 * the send buffer is full: backpressure), or PTCP_ERR_CLOSED after
 * shutdown, PTCP_ERR_STATE in CLOSED or LISTEN, or the connection's error
 * once it has failed. Allowed in SYN-SENT and SYN-RECEIVED (the data goes
 * out once established). */
ptcp_ssize ptcp_conn_send(struct ptcp_conn *c, const void *data, size_t len, ptcp_ts now);

/* Copies up to cap received in-order bytes into buf; returns the count
 * (0 if none is ready: see ptcp_conn_recv_eof). Reading opens the receive
 * window; a window update is sent when it grew enough (RFC 9293 3.8.6.2.2
 * receiver-side silly window avoidance). */
ptcp_ssize ptcp_conn_recv(struct ptcp_conn *c, void *buf, size_t cap, ptcp_ts now);

/* ptcp_conn_recv() without the copy, in two steps: the readable bytes
 * where the receive buffer holds them (one span, or two where it wraps;
 * returns how many, 0 when nothing is ready), valid until the next call
 * for this connection; then the first n of them consumed, as a read of n
 * would (the window it opens, the auto-tuning). consume returns n, or
 * PTCP_ERR_INVAL for more than is readable. */
unsigned ptcp_conn_recv_peek(const struct ptcp_conn *c, const uint8_t *base[2], size_t len[2]);
ptcp_ssize ptcp_conn_recv_consume(struct ptcp_conn *c, size_t n, ptcp_ts now);

/* True when the peer's FIN has arrived and every byte before it was read. */
bool ptcp_conn_recv_eof(const struct ptcp_conn *c);

/* Bytes ready to read / free space in the send buffer. */
size_t ptcp_conn_recv_ready(const struct ptcp_conn *c);
size_t ptcp_conn_send_space(const struct ptcp_conn *c);
/* Bytes queued but not yet acknowledged. */
size_t ptcp_conn_send_pending(const struct ptcp_conn *c);

/* CLOSE for our direction: a FIN follows the queued data. In LISTEN or
 * SYN-SENT the connection just goes to CLOSED. Returns 0, or
 * PTCP_ERR_CLOSED if already shut down. */
int ptcp_conn_shutdown(struct ptcp_conn *c, ptcp_ts now);

/* ABORT (RFC 9293 3.10.5): queue <SEQ=SND.NXT><CTL=RST> when in
 * SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 or CLOSE-WAIT (CLOSING, LAST-ACK
 * and TIME-WAIT are just deleted) and go to CLOSED at once with error
 * PTCP_ERR_ABORTED. Returns 0. */
int ptcp_conn_abort(struct ptcp_conn *c, ptcp_ts now);

enum ptcp_state ptcp_conn_state(const struct ptcp_conn *c);

/* Why the connection ended: 0 for a clean close (or still open), else a
 * negative enum ptcp_error. */
int ptcp_conn_error(const struct ptcp_conn *c);

void ptcp_conn_stats(const struct ptcp_conn *c, struct ptcp_stats *st);

const struct ptcp_endpoint *ptcp_conn_local(const struct ptcp_conn *c);
const struct ptcp_endpoint *ptcp_conn_remote(const struct ptcp_conn *c);

/* True when the last input wants its ACK out before the caller feeds the
 * connection more segments: a caller that reads segments in batches and
 * sends once per batch (fewer ACKs) calls output now. Set by a segment
 * that starts, joins or fills an out-of-order island or repeats data;
 * cleared by any ACK sent. A segment that only grows the newest island
 * leaves it alone: the batch's last ACK reports that island first. */
bool ptcp_conn_ack_due(const struct ptcp_conn *c);

/* The cfg.user the connection was made with, if its cfg.on_event is fn,
 * else NULL: how an owner that made the connection (the table) finds its
 * own record of it without a lookup. */
void *ptcp_conn_event_user(const struct ptcp_conn *c, ptcp_event_fn *fn);

/* Builds the RST that RFC 9293 section 3.10.7.1 says to send in reply to
 * seg when no connection exists (CLOSED): <SEQ=SEG.ACK><CTL=RST> if it had
 * ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Returns 1 and fills
 * *rst, or 0 if seg is itself a RST (never answer a RST). */
int ptcp_reset_for(const struct ptcp_segment *seg, struct ptcp_segment *rst);

#endif
