/* Packet-script harness for the TCP engine (in the style of packetdrill and
 * smoltcp's socket tests).
 *
 * A script drives one struct ptcp_conn with explicit times: "at t inject
 * this segment; at t expect exactly this segment; expect nothing until t".
 * The harness plays the peer: it builds segments from a few fields, emits
 * them with the codec (correct checksum) and hands them in as bytes; it
 * drains everything the engine emits after every call into a queue that the
 * expectations consume. A segment that nobody expected fails the test as
 * soon as time moves on.
 *
 * Times in scripts are nanoseconds relative to the script's zero (MS(),
 * SEC()). sc_goto() runs the real handshake (and teardown steps) with
 * scripted segments to reach a state, then moves the zero to that moment so
 * every test starts at t = 0 in its state.
 *
 * Default endpoints: the engine is 10.0.0.1:4000, the peer 10.0.0.2:5000.
 * Default sequence numbers: the engine's ISS is ISS (1000), the peer's IRS
 * (5000). Payload bytes follow a pattern derived from the stream offset, so
 * data can be checked byte for byte without spelling it out. */
#ifndef PTCP_TEST_SCRIPT_H
#define PTCP_TEST_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "conn.h"
#include "error.h"
#include "segment.h"
#include "stack.h"

#define US(x) ((uint64_t)(x) * PTCP_NS_PER_US)
#define MS(x) ((uint64_t)(x) * PTCP_NS_PER_MS)
#define SEC(x) ((uint64_t)(x) * PTCP_NS_PER_S)

#define SYN PTCP_TH_SYN
#define ACK PTCP_TH_ACK
#define FIN PTCP_TH_FIN
#define RST PTCP_TH_RST
#define PSH PTCP_TH_PSH

#define ISS 1000u  /* the engine's default initial sequence number */
#define IRS 5000u  /* the scripted peer's default initial sequence number */

/* Option selectors for struct sc_pkt.optcmp (which options an expectation
 * compares, presence and value). */
enum {
	O_MSS = 1 << 0,
	O_WS = 1 << 1,
	O_SACKP = 1 << 2,
	O_TS = 1 << 3,
	O_SACK = 1 << 4,
	O_SYNOPTS = O_MSS | O_WS | O_SACKP,
};

/* ---- the test allocator ----------------------------------------------- */

struct talloc_block {
	void *ptr;
	size_t size;
};

/* Counts allocations, checks every free against the size that was asked
 * for, finds leaks and can refuse the Nth allocation. */
struct talloc {
	unsigned long allocs;     /* successful allocations */
	unsigned long frees;
	unsigned long refused;    /* allocations made to fail */
	unsigned long fail_at;    /* refuse the fail_at-th call (1-based), 0 = never */
	unsigned long calls;      /* alloc calls, refused ones included */
	unsigned long bad_frees;  /* unknown pointer or wrong size */
	size_t live_bytes;
	size_t peak_bytes;
	struct talloc_block *blocks;
	size_t n_blocks, cap_blocks;
};

void talloc_init(struct talloc *a);
/* The struct ptcp_alloc that routes to a. */
struct ptcp_alloc talloc_iface(struct talloc *a);
/* Blocks still allocated. */
size_t talloc_live(const struct talloc *a);
/* Releases the bookkeeping (not the blocks: they are leaks by then). */
void talloc_release(struct talloc *a);

/* ---- segments ----------------------------------------------------------- */

/* A segment as a script writes it: only the fields that matter. Used both
 * to inject (missing fields get the script's defaults) and to expect
 * (fields are compared exactly, except where noted). */
struct sc_pkt {
	uint8_t flags;           /* PTCP_TH_*; PSH is ignored when comparing */
	ptcp_seq seq;
	ptcp_seq ack;            /* compared only when ACK is expected */
	uint16_t win;            /* used only with win_set (see W()) */
	bool win_set;            /* otherwise inject: sc->peer_wnd; expect:
	                            the window the engine should offer */
	bool win_any;            /* expect: do not compare the window (RSTs
	                            are never compared either) */
	size_t len;              /* payload bytes */
	const void *data;        /* payload; NULL = the stream pattern */
	struct ptcp_options opt; /* inject: options to send; expect: values */
	unsigned optcmp;         /* expect: O_* options to compare */
	bool no_ts;              /* inject: no timestamp option even though the
	                            peer negotiated them (see peer_ts) */
};

#define W(x) .win = (x), .win_set = true
#define WANY .win_any = true

/* ---- the script ------------------------------------------------------- */

#define SC_MAX_EVENTS 4096
#define SC_MAX_QUEUE 512
#define SC_SEG_CAP 2048  /* bytes per queued segment: 60 + MSS 1460 fits */

struct sc_out {
	uint8_t buf[SC_SEG_CAP];
	size_t len;
	ptcp_ts at;              /* absolute ns */
	struct ptcp_txinfo info;
	size_t free;             /* rcvbuf - bytes ready to read, when emitted */
	bool has_edge;           /* prev_edge is valid */
	ptcp_seq prev_edge;      /* right edge of the window the segment
	                            before it advertised (ACK + window) */
};

struct sc_event {
	struct ptcp_event ev;
	bool seen;               /* consumed by an expectation */
};

struct sc_stack;

struct script {
	struct ptcp_conn *c;
	struct sc_stack *stack;  /* a flow of this table (see sc_stack_flow),
	                            or NULL: a connection of its own */
	struct ptcp_config cfg;
	struct talloc alloc;
	struct ptcp_endpoint local, remote;
	bool wildcard;           /* LISTEN created with an unspecified remote */
	unsigned tx_caps;        /* PTCP_TXCAP_* passed to every output call */
	bool link;               /* two-engine mode: see sc_new_peer() */

	ptcp_ts base;            /* absolute ns of script time 0 */
	ptcp_ts now;             /* absolute ns */

	ptcp_seq iss, irs;
	bool has_peer_isn;       /* sc_goto passes irs as the agreed peer ISN */
	bool passive;            /* sc_goto opens passively */
	uint16_t peer_mss;       /* MSS option in the peer's SYN, 0 = none */
	int peer_ws;             /* window scale the peer offers, -1 = none */
	bool peer_sackp;
	bool peer_ts;            /* the peer's SYN offers timestamps; then every
	                            injected segment without its own opt.has_ts
	                            carries TSval = peer_tsval() and TSecr = the
	                            engine's last TSval (ts_echo), unless no_ts */
	uint32_t ts_echo;        /* the TSval of the engine's last segment */
	ptcp_ts ts_epoch;        /* absolute ns at which the engine's timestamp
	                            clock read its ISS */
	uint16_t peer_wnd;       /* window field of injected segments */
	unsigned rcv_wscale;     /* shift the engine applies to the windows it
	                            offers (learnt from its SYN when both
	                            sides offered scaling) */

	/* What the peer knows after sc_goto(): the engine's SND.UNA and
	 * SND.NXT and its RCV.NXT. */
	ptcp_seq snd_una, snd_nxt, rcv_nxt;

	uint64_t sent;           /* application bytes handed to send */
	uint64_t rcvd;           /* application bytes read back */

	struct ptcp_segment last_fwd; /* header of the last segment sc_forward
	                                 moved out of this script (payload NULL) */
	bool has_edge;           /* edge is valid */
	ptcp_seq edge;           /* right edge the engine advertised last */
	struct sc_out taken;     /* metadata of the segment sc_take() returned */
	struct sc_out *q;        /* segments emitted and not yet expected */
	size_t q_len;

	struct sc_event *ev;
	size_t n_ev;
	size_t ev_overflow;
	size_t trans_seen;       /* state events already matched by EXPECT_PATH */

	const char *file;        /* location of the running step, for messages */
	int line;
	const char *ctx;         /* "sc_goto(ESTABLISHED)" while a fixture runs */
	bool broken;             /* a fixture step failed */
	unsigned long fails;     /* failures reported through this script */
};

/* The fixed config every script starts from: ptcp_config_default() and
 * then rcvbuf 8192, sndbuf 16384, mss 1460, no SACK, no window scaling, no
 * timestamps, NewReno (RFC 5681 arithmetic), RTO 1 s initial and minimum (RFC 6298 (2.1), (2.4)), 60 s
 * maximum, 6 SYN and 15 data retries, MSL 30 s, no delayed ACK, no
 * keepalive, 10 challenge ACKs per second, at most one ACK per 500 ms
 * answering discarded segments, ISN policy reject. */
void sc_config(struct ptcp_config *cfg);

/* Creates a script with a connection in CLOSED. cfg NULL = sc_config();
 * alloc, on_event and user are always replaced. The _wildcard variant
 * creates the connection with an unspecified remote (a LISTEN that
 * accepts any peer). Never returns NULL (aborts the program instead). */
struct script *sc_new(const struct ptcp_config *cfg);
struct script *sc_new_wildcard(const struct ptcp_config *cfg);
/* With other endpoints than the default ones (IPv6, say). */
struct script *sc_new_endpoints(const struct ptcp_config *cfg, const struct ptcp_endpoint *local,
                                const struct ptcp_endpoint *remote);

/* A second script whose engine is the first one's peer (endpoints swapped,
 * iss and irs swapped), same clock. For two-engine scenarios: both scripts
 * switch to link mode, where emitted segments stay queued (in flight) as
 * time moves on, until sc_forward() delivers them; EXPECT_NOTHING and
 * sc_finish() still fail on any left over. */
struct script *sc_new_peer(struct script *a, const struct ptcp_config *cfg);

/* Moves the connection from CLOSED to state by the real open (active unless
 * s->passive; SYN-RECEIVED comes from crossing SYNs when active) and close
 * steps with scripted segments, 10 ms apart, checking every segment on the
 * way, and then sets script time 0 to that moment. Returns false (the test
 * has failed) if the engine did not follow. */
bool sc_goto(struct script *s, enum ptcp_state state);

/* Checks the next segment is a SYN (flags SYN or SYN|ACK) with this seq and
 * ack, the unscaled window min(rcvbuf, 65535) and the options the config
 * and the peer's SYN call for (MSS always; window scale and SACK-permitted
 * per RFC 7323 1.3 and RFC 2018 2: in a SYN-ACK only when the peer offered
 * them). Learns the engine's window scale. */
bool sc_expect_syn(struct script *s, uint64_t t, uint8_t flags, ptcp_seq seq, ptcp_seq ack);

/* sc_new(cfg) + sc_goto(state); on failure frees it and returns NULL. */
struct script *sc_start(const struct ptcp_config *cfg, enum ptcp_state state);

/* Ends the script: fails on segments nobody expected, frees the connection
 * and checks that every allocation was freed with its size. */
void sc_finish(struct script *s);

/* ---- steps (use the macros below: they record the line) ---------------- */

void sc_at(struct script *s, const char *file, int line);
void sc_advance(struct script *s, uint64_t t);
void sc_inject(struct script *s, uint64_t t, const struct sc_pkt *p);
int sc_inject_raw(struct script *s, uint64_t t, const uint8_t *buf, size_t len);
void sc_expect(struct script *s, uint64_t t, const struct sc_pkt *p);
/* Consumes the next segment if it matches p; fails only if another
 * segment is there. Returns whether it was there. */
bool sc_expect_optional(struct script *s, uint64_t t, const struct sc_pkt *p);
void sc_expect_nothing(struct script *s, uint64_t t);
/* Pops the next emitted segment at t into *seg (payload pointing into
 * buf[SC_SEG_CAP]) for checks the expectations cannot express. Returns
 * false (and fails) when nothing was emitted. */
bool sc_take(struct script *s, uint64_t t, struct ptcp_segment *seg, uint8_t *buf,
             struct ptcp_txinfo *info);
/* Drops the segments emitted and not yet consumed, unchecked (for tests
 * about something else, such as allocation). */
void sc_discard(struct script *s);
/* Segments emitted and not yet consumed. */
size_t sc_pending(const struct script *s);
/* Moves the next segment from emitted (at or before t) into to at t; if
 * from has none queued it first advances to t. Returns false if from had
 * nothing. */
bool sc_forward(struct script *from, struct script *to, uint64_t t);

/* Application calls at t; they drain the output afterwards. */
ptcp_ssize sc_send(struct script *s, uint64_t t, size_t n);
ptcp_ssize sc_recv(struct script *s, uint64_t t, size_t n);
int sc_shutdown(struct script *s, uint64_t t);
int sc_abort(struct script *s, uint64_t t);
int sc_open_active(struct script *s, uint64_t t);
int sc_open_passive(struct script *s, uint64_t t);

/* The pattern byte at offset off of the engine's (local) or the peer's
 * (remote) byte stream. */
uint8_t sc_pattern_local(uint64_t off);
uint8_t sc_pattern_remote(uint64_t off);

/* The scripted peer's timestamp clock: milliseconds of absolute time. */
uint32_t sc_peer_tsval(const struct script *s);
/* The TSval the engine sends at script time t: its clock starts at its
 * ISS when it opened (the active open, or the SYN a LISTEN took), which
 * sc_open_active() and sc_goto() record in ts_epoch. */
uint32_t sc_engine_tsval(const struct script *s, uint64_t t);

/* The window the engine should offer now: (rcvbuf - bytes ready to read)
 * shifted by rcv_wscale, at most 65535. */
uint16_t sc_expected_window(const struct script *s, bool syn);

/* Whether the window of g, the segment sc_take() returned last, is right:
 * the free receive buffer space, or (RFC 9293 3.8.6.2.2, receiver-side
 * silly window avoidance) the previous right edge kept in place while the
 * space beyond it is less than min(rcvbuf / 2, MSS). Expectations without
 * an explicit window accept the same two values. */
bool sc_window_ok(const struct script *s, const struct ptcp_segment *g);

/* ---- events -------------------------------------------------------------- */

/* The state transitions reported since the last call, as "A>B C>D". */
void sc_transitions(struct script *s, char *buf, size_t cap);
/* The connection's counters (ptcp_conn_stats). */
struct ptcp_stats sc_stats(const struct script *s);
/* Finds the first not yet consumed event of type (and, for PTCP_EV_DROP,
 * reason drop; pass -1 for any) and consumes it. */
const struct ptcp_event *sc_event(struct script *s, enum ptcp_event_type type, int drop);
/* Events of type not yet consumed (drop: as above). */
size_t sc_count_events(const struct script *s, enum ptcp_event_type type, int drop);
/* Marks every event consumed. */
void sc_events_clear(struct script *s);

void sc_expect_state(struct script *s, enum ptcp_state st);
void sc_expect_path(struct script *s, const char *path);
void sc_expect_drop(struct script *s, enum ptcp_drop d);
void sc_expect_closed(struct script *s, int error);

/* ---- many connections in one table (stack.h) ---------------------------- */

/* A connection table driven by scripts. Each flow is a struct script for
 * one 4-tuple whose connection (if any) lives in the table: the steps and
 * expectations above work on it unchanged. Injected segments go through
 * ptcp_stack_input(); after every step the table's output is drained with
 * ptcp_stack_output() and each segment queued on the flow whose local and
 * remote endpoints it goes from and to (a segment for no flow fails the
 * test); time runs ptcp_stack_expiry() / ptcp_stack_handle_expiry(); the
 * application calls end with ptcp_stack_touch(). All flows share one
 * clock: a segment nobody expected on any flow fails as soon as time moves
 * on. A flow's connection is the one ptcp_stack_connect() made for it
 * (sc_open_active) or the half-open one its first SYN made through a
 * listener; it goes when the table raises PTCP_STACK_EV_FREED for it.
 * sc_goto() works on flows too: a passive flow (s->passive) needs a
 * listener and learns the engine's ISN from its SYN-ACK. */

#define SC_MAX_FLOWS 16
#define SC_MAX_ORDER 4096
#define SC_MAX_STACK_EVENTS 1024

struct sc_stack_event {
	enum ptcp_stack_event_type type;
	struct ptcp_conn *conn;
	struct ptcp_listener *listener;
	int flow;                /* index in flows[], -1 for none */
	bool seen;
};

struct sc_stack {
	struct ptcp_stack *st;
	struct ptcp_stack_config cfg;
	struct talloc alloc;
	struct script *flows[SC_MAX_FLOWS];
	size_t n_flows;
	ptcp_ts base, now;       /* as in struct script, shared by every flow */
	int order[SC_MAX_ORDER]; /* flow of every segment drained, in order */
	size_t n_order;
	struct sc_stack_event ev[SC_MAX_STACK_EVENTS]; /* ACCEPTABLE and FREED */
	size_t n_ev;
	const char *file;        /* location of the last step on any flow */
	int line;
	unsigned long fails;
};

/* sc_config() for the connections, ptcp_stack_config_default() for the
 * rest, and fixed secrets (hash key 1..16, ISN secret 0x41..0x50). */
void sc_stack_config(struct ptcp_stack_config *cfg);
/* A table (cfg NULL = sc_stack_config(); alloc, on_event and user are
 * always replaced) at script time 0. Never returns NULL. */
struct sc_stack *sc_stack_new(const struct ptcp_stack_config *cfg);
/* A flow from local to remote with connection config cfg (NULL = the
 * table's template: it must be the config its connection gets, the
 * listener's for a passive flow, for the window checks to hold). */
struct script *sc_stack_flow(struct sc_stack *k, const struct ptcp_endpoint *local,
                             const struct ptcp_endpoint *remote, const struct ptcp_config *cfg);
/* Fails on what no flow expected, frees every flow and the table, and
 * checks that every allocation was freed with its size. */
void sc_stack_finish(struct sc_stack *k);
/* Every flow: nothing is pending at t. */
void sc_stack_expect_nothing(struct sc_stack *k, uint64_t t);
/* Drains the table's output into the flows' queues now (the steps do it
 * after themselves; this is for calls made on the connections directly). */
void sc_stack_drain(struct sc_stack *k);
/* Moves every flow's clock to t (running the table's timers). */
void sc_stack_advance(struct sc_stack *k, uint64_t t);
/* Finds the first not yet consumed table event of type for conn (NULL:
 * any) and consumes it. */
const struct sc_stack_event *sc_stack_event(struct sc_stack *k, enum ptcp_stack_event_type type,
                                            const struct ptcp_conn *conn);
struct ptcp_stack_stats sc_stack_stats(const struct sc_stack *k);

/* ---- macros for scripts -------------------------------------------------- */

#define SC_AT(s) sc_at((s), __FILE__, __LINE__)
#define PKT(...) (&(const struct sc_pkt){ __VA_ARGS__ })

#define INJECT(s, t, ...) (SC_AT(s), sc_inject((s), (t), PKT(__VA_ARGS__)))
#define EXPECT(s, t, ...) (SC_AT(s), sc_expect((s), (t), PKT(__VA_ARGS__)))
#define EXPECT_OPTIONAL(s, t, ...) (SC_AT(s), sc_expect_optional((s), (t), PKT(__VA_ARGS__)))
#define EXPECT_SYN(s, t, flags, seq, ack) (SC_AT(s), sc_expect_syn((s), (t), (flags), (seq), (ack)))
#define EXPECT_NOTHING(s, t) (SC_AT(s), sc_expect_nothing((s), (t)))
#define ADVANCE(s, t) (SC_AT(s), sc_advance((s), (t)))
#define SEND(s, t, n) (SC_AT(s), sc_send((s), (t), (n)))
#define RECV(s, t, n) (SC_AT(s), sc_recv((s), (t), (n)))
#define SHUTDOWN(s, t) (SC_AT(s), sc_shutdown((s), (t)))
#define ABORT(s, t) (SC_AT(s), sc_abort((s), (t)))
#define FORWARD(a, b, t) (SC_AT(a), SC_AT(b), sc_forward((a), (b), (t)))

#define EXPECT_STATE(s, st) (SC_AT(s), sc_expect_state((s), (st)))
/* Exactly these transitions since the last EXPECT_PATH, e.g.
 * "SYN-SENT>SYN-RECEIVED SYN-RECEIVED>ESTABLISHED". */
#define EXPECT_PATH(s, path) (SC_AT(s), sc_expect_path((s), (path)))
#define EXPECT_DROP(s, d) (SC_AT(s), sc_expect_drop((s), (d)))
/* An EV_CLOSED event with this error, and ptcp_conn_error() agrees. */
#define EXPECT_CLOSED(s, err) (SC_AT(s), sc_expect_closed((s), (err)))

/* Ends a test early when its fixture failed. */
#define START(s, cfg, state)                        \
	struct script *s = sc_start((cfg), (state)); \
	if (!s)                                     \
		return

#endif
