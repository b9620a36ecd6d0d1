/* A seeded two-engine network simulation (in the spirit of ngtcp2's
 * examples/sim.h and smoltcp's tests/netsim.rs).
 *
 * Two struct ptcp_conn, A (10.0.0.1:4000) and B (10.0.0.2:5000), talk over
 * two one-way virtual links that delay, jitter (and so reorder), drop,
 * duplicate, corrupt single bits and serialise segments at a given rate.
 * A virtual clock in nanoseconds and an event queue drive everything; all
 * randomness comes from one seeded PRNG, so a run is a pure function of
 * its parameters: a failing seed replays exactly.
 *
 * The simulation drives the engines as a real driver would: a segment
 * arriving goes to ptcp_conn_input_bytes(); after every event the
 * connection's output is drained with ptcp_conn_output(); timers run at
 * ptcp_conn_expiry() through ptcp_conn_handle_expiry(). The applications
 * write deterministic pseudo-random bytes with backpressure, read them
 * back through a bounded buffer and check them byte by byte (and by a
 * running hash), shut down when everything is written and must both end
 * in CLOSED with no error. Every run is bounded by virtual time and by an
 * event count, so nothing can hang. No wall clock, no libc rand().
 *
 * With params.conns = N > 0 the two hosts are connection tables
 * (stack.h) instead: N connections, A's 10.0.0.1:(4000 + j) to B's
 * 10.0.0.2:5000, share the two links. B listens (active/passive) or opens
 * all of them too (simultaneous); each connection's applications do the
 * above, tell their table after every call (ptcp_stack_touch) and
 * release the connection once both directions are done; the tables see
 * the close through TIME-WAIT and must both be empty at the end.
 *
 * This lives in tests/lib so that tests/sim/test_*.c link it; it has no
 * main() (tests/lib is also linked into the fuzzers). */
#ifndef PTCP_TEST_NETSIM_H
#define PTCP_TEST_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conn.h"

/* ---- PRNG: splitmix64 -------------------------------------------------- */

struct netsim_rng {
	uint64_t s;
};

void netsim_rng_seed(struct netsim_rng *r, uint64_t seed);
uint64_t netsim_rng_next(struct netsim_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t netsim_rng_below(struct netsim_rng *r, uint64_t n);
/* Uniform in [lo, hi] (inclusive). */
uint64_t netsim_rng_range(struct netsim_rng *r, uint64_t lo, uint64_t hi);
/* True with probability ppm / 1,000,000. */
bool netsim_rng_ppm(struct netsim_rng *r, uint32_t ppm);
/* The splitmix64 finaliser: a good 64-bit mix of x. */
uint64_t netsim_mix64(uint64_t x);

/* ---- a counting allocator ---------------------------------------------- */

/* malloc/free wrappers for struct ptcp_alloc that count live bytes and
 * blocks and check that every free names the size that was allocated. */
struct netsim_alloc {
	size_t live_bytes;
	size_t peak_bytes;
	unsigned long live_blocks;
	unsigned long allocs;
	unsigned long bad_frees;  /* free with a wrong size or a foreign pointer */
};

struct ptcp_alloc netsim_alloc_iface(struct netsim_alloc *a);

/* ---- parameters -------------------------------------------------------- */

/* One direction of the network. */
struct netsim_link {
	uint64_t delay;        /* ns, one-way propagation delay */
	uint64_t jitter;       /* ns: each segment gets an extra uniform
	                          [0, jitter) on top of delay, so segments
	                          overtake each other (reordering) */
	uint32_t loss_ppm;     /* drop probability, parts per million */
	uint32_t dup_ppm;      /* duplication probability (the copy gets its
	                          own jitter) */
	uint32_t corrupt_ppm;  /* probability of flipping one random bit; the
	                          receiver must drop it (checksum) */
	uint64_t rate;         /* bytes per second of serialisation (IP header
	                          of 20 bytes counted), 0 = infinitely fast */
	uint32_t queue_bytes;  /* drop-tail limit of bytes waiting to be
	                          serialised, 0 = no limit (only with rate) */
	uint64_t blackout_from;  /* ns after the start: every segment sent in */
	uint64_t blackout_until; /* [from, until) is lost (scripted outages) */
};

#define NETSIM_MAX_CONNS 64

enum netsim_open {
	NETSIM_OPEN_SIMULTANEOUS = 0, /* both ptcp_conn_open_active with agreed ISNs */
	NETSIM_OPEN_ACTIVE_PASSIVE,   /* A active, B passive (LISTEN) */
};

enum netsim_close {
	NETSIM_CLOSE_WHEN_DONE = 0,   /* each side shuts down once all its bytes
	                                 are queued (often a simultaneous close) */
	NETSIM_CLOSE_B_AFTER_EOF,     /* B waits for A's FIN before its own
	                                 (A active closer, B passive closer) */
};

/* One endpoint's application and buffers. */
struct netsim_side {
	uint64_t bytes;           /* to send in total */
	uint32_t sndbuf, rcvbuf;  /* engine buffers, bytes */
	uint32_t write_max;       /* largest single ptcp_conn_send, bytes */
	uint32_t read_cap;        /* the application's read buffer, bytes */
	uint64_t read_interval;   /* ns; 0 = read everything after every event,
	                             else one read of read_cap per interval
	                             (a slow reader: zero windows) */
	bool lend;                /* read with ptcp_conn_recv_peek() and
	                             _consume() instead of ptcp_conn_recv() */
	ptcp_seq isn;
};

struct netsim_params {
	uint64_t seed;            /* PRNG seed of the run */
	const char *name;         /* class name, for messages */
	struct netsim_link ab, ba;/* A -> B and B -> A */
	struct netsim_side a, b;
	enum netsim_open open;
	enum netsim_close close;
	bool b_wildcard;          /* passive B listens with no remote */
	bool punching;            /* config.punching on both */
	uint64_t b_open_at;       /* ns after A's open when B opens */
	uint16_t mss;
	bool sack, window_scale;
	bool timestamps;          /* RFC 7323 on both (default on) */
	enum ptcp_cc_algo cc;     /* congestion control of both (default CUBIC) */
	uint64_t delack;          /* ns, 0 = ACK at once */
	uint64_t msl;             /* ns */
	unsigned conns;           /* 0: two engines, one connection; N: N
	                             connections between two tables (at most
	                             NETSIM_MAX_CONNS), a and b per connection */
	uint64_t trace_every;     /* ns: print A's congestion state this often
	                             to stderr (0 = never; one connection) */
	uint64_t max_time;        /* ns of virtual time before giving up */
	uint64_t max_events;      /* events before giving up */
};

/* Fills p with a clean, symmetric default (10 ms delay, 64 KiB each way,
 * simultaneous open) and the given seed. */
void netsim_params_default(struct netsim_params *p, uint64_t seed);

/* Writes the parameters on one or more lines. */
void netsim_params_print(const struct netsim_params *p, FILE *f);

struct netsim_result {
	bool ok;
	char why[256];            /* the first failure */
	uint64_t moved[2];        /* bytes delivered A->B, B->A */
	uint64_t done_at[2];      /* ns after the start when the last byte of
	                             A->B, B->A was read (0: nothing to send) */
	uint64_t retransmits;     /* both engines */
	uint64_t rtos;
	uint64_t fast_retransmits;
	uint64_t recoveries, loss_probes, undos;
	uint64_t segments;        /* put on the links */
	uint64_t lost, duplicated, corrupted, queue_drops;
	uint64_t zero_windows;    /* segments that advertised a zero window */
	uint64_t syns;            /* segments with SYN (retransmissions included) */
	uint64_t vtime;           /* ns at the end */
	uint64_t events;
};

/* Runs one simulation. On failure the result says why and, when diag is
 * non-NULL, the parameters, the last 30 segments and engine events, and
 * both engines' states and statistics are written there. Returns r->ok. */
bool netsim_run(const struct netsim_params *p, struct netsim_result *r, FILE *diag);

#endif
